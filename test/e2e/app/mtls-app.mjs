// The e2e test app: what a workload does with the files mtls-injector mounts at /var/run/mtls. No
// dependencies; runs on the product's runtime base image (node, no shell) as a non-root user. One JSON line
// per event on stdout, so tests read it back with `kubectl logs`.
//
//   whoami [--watch MS]                     read tls.key + tls.crt, check they match, print the SPIFFE ID,
//                                           serial and which roots of ca.crt issued it (SHA-256 fingerprints;
//                                           with --watch: again whenever the serial changes)
//   serve  [--port 8443] [--health-port P] [--allow ID,…]
//                                           HTTPS that requires a client certificate verified against ca.crt
//                                           (and ca.crl when present) and, with --allow, one of those SPIFFE
//                                           IDs; files re-read when they change; logs each peer's SPIFFE ID
//                                           and its own serving serial, and why it refused one. --health-port
//                                           serves plain-HTTP GET /healthz for a readiness probe (a TCP probe
//                                           of the TLS port would show up as refused handshakes)
//   call   --url https://NAME:PORT/ [--address IP] [--interval MS] [--count N] [--anonymous]
//                                           handshakes with hostname verification against NAME (a DNS SAN),
//                                           dialling IP when given (no cluster DNS needed), and logs each
//                                           result with the peer's serial or the error; --anonymous presents
//                                           no certificate and does not check the server's (a pod without an
//                                           identity, to show the server refuses it)
// Common: --dir DIR (default /var/run/mtls, or MTLS_DIR).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { request, createServer } from 'node:https';
import { join } from 'node:path';

const [mode = 'whoami', ...rest] = process.argv.slice(2);
const opts = parseFlags(rest);
const dir = opts.dir ?? process.env.MTLS_DIR ?? '/var/run/mtls';

/** --name value pairs into an object; a bare --name is "true". */
function parseFlags(args) {
  const out = {};
  for (let i = 0; i < args.length; i++) {
    const name = args[i];
    if (!name.startsWith('--')) fail(`unexpected argument ${name}`);
    const next = args[i + 1];
    if (next === undefined || next.startsWith('--')) out[name.slice(2)] = 'true';
    else out[name.slice(2)] = args[++i];
  }
  return out;
}

function emit(event, fields) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
}

function fail(message) {
  emit('error', { message });
  process.exit(2);
}

/** The SPIFFE ID (URI SAN) of a certificate, or undefined. */
function spiffeId(cert) {
  const uri = (cert.subjectAltName ?? '').split(', ').find((s) => s.startsWith('URI:spiffe://'));
  return uri?.slice('URI:'.length);
}

/** PEM blocks of a bundle, parsed. */
function certificates(pem) {
  return (String(pem).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (block) => new X509Certificate(block),
  );
}

/** SHA-256 fingerprints of the certificates in `bundle` that signed `leaf` (its roots in ca.crt). */
function issuedBy(leaf, bundle) {
  return certificates(bundle)
    .filter((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))
    .map((ca) => ca.fingerprint256);
}

/** The mounted files: key, chain, bundle and CRL (when present), plus the leaf parsed. */
function load() {
  const read = (f) => readFileSync(join(dir, f));
  const key = read('tls.key');
  const cert = read('tls.crt');
  const ca = read('ca.crt');
  const crl = existsSync(join(dir, 'ca.crl')) ? read('ca.crl') : undefined;
  const leaf = new X509Certificate(cert);
  return { key, cert, ca, crl, leaf };
}

/** A stamp that changes when the kubelet swaps the files (its ..data symlink) or a file is rewritten. */
function stamp() {
  try {
    return ['tls.crt', 'tls.key', 'ca.crt', 'ca.crl']
      .map((f) => (existsSync(join(dir, f)) ? statSync(join(dir, f)).mtimeMs : 0))
      .join(':');
  } catch {
    return 'unreadable';
  }
}

function whoami() {
  const describe = () => {
    const files = load();
    const keyMatches = files.leaf.checkPrivateKey(createPrivateKey(files.key));
    return {
      uid: process.getuid?.(),
      gid: process.getgid?.(),
      spiffeId: spiffeId(files.leaf),
      serial: files.leaf.serialNumber,
      notAfter: files.leaf.validTo,
      issuer: files.leaf.issuer,
      issuedBy: issuedBy(files.leaf, files.ca),
      roots: certificates(files.ca).map((ca) => ca.fingerprint256),
      keyMatches,
    };
  };
  let last = describe();
  emit('whoami', last);
  if (opts.watch === undefined) return;
  setInterval(() => {
    try {
      const now = describe();
      if (now.serial !== last.serial) emit('whoami', { ...now, previousSerial: last.serial });
      last = now;
    } catch (err) {
      emit('read-error', { message: err instanceof Error ? err.message : String(err) });
    }
  }, Number(opts.watch));
}

function serve() {
  const port = Number(opts.port ?? 8443);
  const context = () => {
    const f = load();
    // One CRL per array element: given one string, node:tls reads only its first CRL (docs/revocation.md).
    const crl = f.crl
      ? (String(f.crl).match(/-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----/g) ?? [])
      : [];
    return { ...f, options: { key: f.key, cert: f.cert, ca: f.ca, ...(f.crl ? { crl } : {}) } };
  };
  let current = context();
  let seen = stamp();
  // Only these SPIFFE IDs may call (comma-separated); without --allow, any identity our CA issued.
  const allow = opts.allow === undefined ? undefined : new Set(opts.allow.split(','));
  // The client certificate is required and checked against ca.crt here, in secureConnection, rather than by
  // rejectUnauthorized: Node would then drop the connection with a bare ECONNRESET; this way the log says why
  // (no certificate, unknown CA, expired, not an allowed SPIFFE ID).
  const server = createServer(
    { ...current.options, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    (req, res) => {
      const peer = req.socket.getPeerX509Certificate();
      const body = {
        peer: peer ? spiffeId(peer) : undefined,
        peerSerial: peer?.serialNumber,
        serverSerial: current.leaf.serialNumber,
      };
      emit('request', { ...body, path: req.url });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    },
  );
  server.on('secureConnection', (socket) => {
    const peer = socket.getPeerX509Certificate();
    const refuse = (code, message) => {
      // `reason` as in tlsClientError below: why the certificate was refused (CERT_REVOKED, ...).
      emit('handshake-refused', { code, reason: code, message, peer: peer ? spiffeId(peer) : undefined });
      socket.destroy();
    };
    if (peer === undefined) return refuse('NO_CLIENT_CERTIFICATE', 'the client presented no certificate');
    if (!socket.authorized) return refuse(socket.authorizationError, 'the client certificate did not verify');
    if (allow !== undefined && !allow.has(spiffeId(peer)))
      return refuse('SPIFFE_ID_NOT_ALLOWED', `${spiffeId(peer)} may not call this server`);
    emit('handshake', {
      peer: peer ? spiffeId(peer) : undefined,
      peerSerial: peer?.serialNumber,
      serverSerial: current.leaf.serialNumber,
    });
  });
  // authorizationError says why a client certificate was refused (CERT_REVOKED, CERT_HAS_EXPIRED, ...).
  server.on('tlsClientError', (err, socket) =>
    emit('handshake-refused', { code: err.code, message: err.message, reason: socket?.authorizationError }),
  );
  setInterval(() => {
    const now = stamp();
    if (now === seen) return;
    try {
      const next = context();
      server.setSecureContext(next.options);
      emit('reloaded', { serverSerial: next.leaf.serialNumber, previousSerial: current.leaf.serialNumber });
      current = next;
      seen = now;
    } catch (err) {
      emit('reload-error', { message: err instanceof Error ? err.message : String(err) });
    }
  }, 250).unref();
  server.listen(port, () =>
    emit('listening', { port: server.address().port, serverSerial: current.leaf.serialNumber }),
  );
  if (opts['health-port'] !== undefined) {
    createHttpServer((req, res) => res.writeHead(server.listening ? 200 : 503).end()).listen(
      Number(opts['health-port']),
    );
  }
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

function call() {
  if (opts.url === undefined) fail('call needs --url https://NAME:PORT/');
  const url = new URL(opts.url);
  const interval = Number(opts.interval ?? 1000);
  const count = opts.count === undefined ? Infinity : Number(opts.count);
  const anonymous = opts.anonymous === 'true';
  const totals = { attempted: 0, failed: 0 };
  const once = () =>
    new Promise((resolve) => {
      totals.attempted += 1;
      // Re-read each time: a renewed certificate is used at once. A file that cannot be read is a failed
      // call with its reason, not a crash of the client.
      let f;
      try {
        f = anonymous ? { leaf: { serialNumber: undefined } } : load();
      } catch (err) {
        totals.failed += 1;
        emit('call', {
          ok: false,
          error: 'READ_ERROR',
          message: err instanceof Error ? err.message : String(err),
        });
        resolve();
        return;
      }
      const req = request(
        {
          host: opts.address ?? url.hostname,
          port: Number(url.port || 443),
          path: url.pathname,
          servername: url.hostname, // SNI and the name checked against the server's DNS SANs
          ...(anonymous ? { rejectUnauthorized: false } : { key: f.key, cert: f.cert, ca: f.ca }),
          agent: false,
          timeout: 5000,
        },
        (res) => {
          const peer = res.socket.getPeerX509Certificate();
          let body = '';
          res.on('data', (chunk) => (body += String(chunk)));
          res.on('end', () => {
            emit('call', {
              ok: res.statusCode === 200,
              status: res.statusCode,
              peer: peer ? spiffeId(peer) : undefined,
              peerSerial: peer?.serialNumber,
              clientSerial: f.leaf.serialNumber,
              body,
            });
            if (res.statusCode !== 200) totals.failed += 1;
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out after 5000ms')));
      req.on('error', (err) => {
        totals.failed += 1;
        emit('call', {
          ok: false,
          error: err.code ?? err.message,
          message: err.message,
          clientSerial: f.leaf.serialNumber,
        });
        resolve();
      });
      req.end();
    });
  const summary = () => emit('summary', totals);
  process.on('SIGTERM', () => {
    summary();
    process.exit(0);
  });
  const loop = async () => {
    for (let i = 0; i < count; i++) {
      await once();
      if (i + 1 < count) await new Promise((r) => setTimeout(r, interval));
    }
    summary();
  };
  void loop();
}

// Whatever ends the process unexpectedly is logged as an event first (kubectl logs --previous shows it).
process.on('uncaughtException', (err) => fail(`uncaught: ${err instanceof Error ? err.stack : String(err)}`));
process.on('unhandledRejection', (err) =>
  fail(`unhandled: ${err instanceof Error ? err.stack : String(err)}`),
);

const modes = { whoami, serve, call };
if (!(mode in modes)) fail(`unknown mode ${mode}: use whoami, serve or call`);
try {
  modes[mode]();
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
