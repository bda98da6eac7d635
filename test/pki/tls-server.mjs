// A mutual-TLS server in its own process for test/pki/mtls.test.ts: plain node:tls, nothing from this project.
// Usage: node tls-server.mjs DIR [--crl-as-one-string]  (DIR holds tls.crt, tls.key, ca.crt and maybe
// ca.crl). Prints one JSON line per event.
// node:tls reads only the first CRL of a PEM string (SecureContext::AddCRL reads one), so the CRLs of ca.crl
// are passed one block per array element; --crl-as-one-string passes the file as it is, to show why.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';

const dir = process.argv[2] ?? '.';
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const uriOf = (cert) =>
  (cert?.subjectaltname ?? '')
    .split(', ')
    .find((name) => name.startsWith('URI:'))
    ?.slice(4);

const crlFile = join(dir, 'ca.crl');
const crlText = existsSync(crlFile) ? readFileSync(crlFile, 'utf8') : undefined;
const crl =
  crlText === undefined
    ? {}
    : {
        crl: process.argv.includes('--crl-as-one-string')
          ? crlText
          : (crlText.match(/-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----\n?/g) ?? []),
      };

const server = tls.createServer(
  {
    cert: readFileSync(join(dir, 'tls.crt')),
    key: readFileSync(join(dir, 'tls.key')),
    ca: readFileSync(join(dir, 'ca.crt')),
    ...crl,
    requestCert: true,
    rejectUnauthorized: true,
  },
  (socket) => {
    const peer = uriOf(socket.getPeerCertificate());
    emit({ event: 'accepted', peer, protocol: socket.getProtocol(), cipher: socket.getCipher().name });
    socket.end(`hello ${peer} from ${uriOf(socket.getCertificate())}\n`);
  },
);
// With rejectUnauthorized, node destroys an unauthorized socket after the handshake; the verify error that
// caused it is on the socket, the error passed here is only the resulting reset.
server.on('tlsClientError', (err, socket) =>
  emit({ event: 'rejected', reason: socket.authorizationError ?? err.code ?? err.message }),
);
server.listen(0, '127.0.0.1', () => emit({ event: 'listening', port: server.address().port }));
process.stdin.on('end', () => server.close(() => process.exit(0)));
process.stdin.resume();
