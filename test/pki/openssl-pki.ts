/**
 * Builds CAs with the openssl CLI, the way an enterprise PKI would: independent of our encoder, with the
 * shapes loadCa must accept or refuse.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openssl } from './helpers.js';

const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder

[ca]
default_ca = ca_default
[ca_default]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[policy_any]
organizationName = optional
commonName = supplied

[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[root_pathlen0]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[policy_ca]
basicConstraints = critical,CA:TRUE,pathlen:1
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[issuing_ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[issuing_ca_no_crl_sign]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,digitalSignature,keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[not_ca]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyCertSign
subjectKeyIdentifier = hash
[no_cert_sign]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,cRLSign
subjectKeyIdentifier = hash
[no_key_usage]
basicConstraints = critical,CA:TRUE
subjectKeyIdentifier = hash
[two_uris]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = URI:spiffe://cluster.local/ns/a/sa/one,URI:spiffe://cluster.local/ns/a/sa/two
[server_only]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = URI:spiffe://cluster.local/ns/a/sa/one
`;

/** Key algorithms openssl generates for these fixtures. */
export type OpensslKey = 'p256' | 'p384' | 'rsa2048' | 'ed25519' | 'secp256k1';

const NEWKEY: Record<OpensslKey, string[]> = {
  p256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  secp256k1: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'],
  rsa2048: ['-newkey', 'rsa:2048'],
  ed25519: ['-newkey', 'ed25519'],
};

/** A certificate and key on disk, with their PEM. */
export interface Issued {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** An openssl PKI workspace in `dir`. */
export function opensslPki(dir: string) {
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  const read = (name: string): Issued => ({
    certPath: join(dir, `${name}.crt`),
    keyPath: join(dir, `${name}.key`),
    certPem: readFileSync(join(dir, `${name}.crt`), 'utf8'),
    keyPem: readFileSync(join(dir, `${name}.key`), 'utf8'),
  });
  const run = (args: string[]): string => openssl(args, undefined, dir);

  return {
    /** A self-signed certificate with the given extension section (default: a proper root). */
    selfSigned(
      name: string,
      subject: string,
      options: { key?: OpensslKey; section?: string; days?: number } = {},
    ): Issued {
      run([
        'req',
        '-x509',
        '-config',
        config,
        '-extensions',
        options.section ?? 'root',
        ...NEWKEY[options.key ?? 'p256'],
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-subj',
        subject,
        '-days',
        String(options.days ?? 365),
      ]);
      return read(name);
    },
    /**
     * A certificate signed by `issuer`. `start`/`end` (YYYYMMDDHHMMSSZ) go through `openssl ca`, which can
     * write validity in the past or the future; otherwise `x509 -req -days`.
     */
    signed(
      name: string,
      subject: string,
      issuer: Issued,
      options: { key?: OpensslKey; section?: string; days?: number; start?: string; end?: string } = {},
    ): Issued {
      run([
        'req',
        '-new',
        '-config',
        config,
        ...NEWKEY[options.key ?? 'p256'],
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        subject,
      ]);
      if (options.start !== undefined && options.end !== undefined) {
        run([
          'ca',
          '-batch',
          '-config',
          config,
          '-cert',
          issuer.certPath,
          '-keyfile',
          issuer.keyPath,
          '-in',
          `${name}.csr`,
          '-out',
          `${name}.crt`,
          '-extfile',
          config,
          '-extensions',
          options.section ?? 'issuing_ca',
          '-notext',
          '-startdate',
          options.start,
          '-enddate',
          options.end,
        ]);
      } else {
        run([
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          issuer.certPath,
          '-CAkey',
          issuer.keyPath,
          '-set_serial',
          `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`,
          '-days',
          String(options.days ?? 180),
          '-extfile',
          config,
          '-extensions',
          options.section ?? 'issuing_ca',
          '-out',
          `${name}.crt`,
        ]);
      }
      return read(name);
    },
    /**
     * Revokes `issued` (made by `signed` with start/end, so it is in openssl's database) and writes
     * `<name>.crl` signed by `issuer`, valid for `hours`: openssl's own CRL, to read with ours.
     */
    revokeAndGenCrl(
      name: string,
      issuer: Issued,
      revoked: readonly Issued[],
      reason: string,
      hours = 24,
    ): string {
      for (const cert of revoked) {
        run(
          ['ca', '-config', config, '-cert', issuer.certPath, '-keyfile', issuer.keyPath].concat([
            '-revoke',
            cert.certPath,
            '-crl_reason',
            reason,
          ]),
        );
      }
      run(
        ['ca', '-config', config, '-cert', issuer.certPath, '-keyfile', issuer.keyPath, '-gencrl'].concat([
          '-crlhours',
          String(hours),
          '-out',
          `${name}.crl`,
        ]),
      );
      return readFileSync(join(dir, `${name}.crl`), 'utf8');
    },
    /** The key of `issued` re-encoded (`sec1`: EC PRIVATE KEY, `pkcs1`: RSA PRIVATE KEY, `encrypted`: PKCS#8 with a password). */
    keyAs(issued: Issued, form: 'sec1' | 'pkcs1' | 'encrypted'): string {
      if (form === 'sec1') return run(['ec', '-in', issued.keyPath]);
      if (form === 'pkcs1') return run(['rsa', '-in', issued.keyPath, '-traditional']);
      return run(['pkey', '-in', issued.keyPath, '-aes256', '-passout', 'pass:secret']);
    },
  };
}
