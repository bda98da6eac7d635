/**
 * The Go mtls-init (cmd/mtls-init, what Linux pods run) and the TypeScript `mtls-injector init` (Windows pods,
 * a check by hand) must never disagree: each case below mounts the same files, runs both with the same env, and
 * expects the same exit code and the same bytes on stdout and stderr. The only normalisation is the clock in
 * "(now …)" (each run reads its own) and the parser's own words inside "not a usable X.509 CRL (…)".
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { generateRootCa, loadCa } from '../../src/pki/ca.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { toPem } from '../../src/pki/pem.js';
import { crlRevoking, tempDir } from '../pki/helpers.js';
import { opensslPki } from '../pki/openssl-pki.js';
import { describeWithTools } from '../tools.js';
import { goInit, typescriptInit } from './init-impls.js';

interface Files {
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
  readonly crl?: string;
}

const now = new Date();
const HOUR = 3_600_000;
const newRoot = (at = now) =>
  generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: 86_400 * 30,
    now: at,
  });
const ca = newRoot(new Date(now.getTime() - 86_400_000));
const next = newRoot();
const web = 'spiffe://cluster.local/ns/shop/sa/web';
const podEnv = {
  MTLS_POD_NAMESPACE: 'shop',
  MTLS_POD_SERVICE_ACCOUNT: 'web',
  MTLS_INJECTOR_INIT_WAIT_TIMEOUT: '0s',
};
const leafOf = (issuer = ca, spiffeId = web, at = now, lifetimeSeconds = 3600) =>
  issueLeaf(issuer, { spiffeId, keyAlgorithm: 'ecdsa-p256', lifetimeSeconds, backdateSeconds: 60, now: at });
const crlOf = (
  serials: readonly { serialHex: string; notAfter: Date }[],
  nextUpdate = new Date(now.getTime() + HOUR),
) => crlRevoking(ca, serials, now, { crlNumber: 7n, nextUpdate, reason: 'superseded' });

function mounted(files: Files): string {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-init-parity-'));
  for (const [name, text] of [
    ['tls.crt', files.cert],
    ['tls.key', files.key],
    ['ca.crt', files.ca],
    ['ca.crl', files.crl],
  ] as const) {
    if (text !== undefined) writeFileSync(join(dir, name), text);
  }
  return dir;
}

const normalise = (text: string) =>
  text
    .replace(/\(now \d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '(now <clock>)')
    .replace(/not a usable X\.509 CRL \([^)]*\)/g, 'not a usable X.509 CRL (<parser>)');

describeWithTools(['go'], 'mtls-init: the Go binary and the TypeScript command agree', () => {
  const work = tempDir('mtls-init-parity-pki-');
  afterAll(() => work.cleanup());
  const pki = opensslPki(work.dir);
  const root = pki.selfSigned('root', '/O=Example, Inc./CN=Root "R1"');
  const issuing = pki.signed('issuing', '/CN=Issuing', root);
  // The clock after openssl ran: its CAs start at the current second, which can be after `now`.
  const afterOpenssl = new Date();
  const byo = loadCa({
    certChainPem: issuing.certPem,
    keyPem: issuing.keyPem,
    bundlePem: root.certPem,
    now: afterOpenssl,
  });
  const viaIntermediate = issueLeaf(byo, {
    spiffeId: web,
    keyAlgorithm: 'ecdsa-p256',
    lifetimeSeconds: 3600,
    backdateSeconds: 60,
    now: afterOpenssl,
  });
  const tight = pki.selfSigned('tight', '/CN=Tight', { section: 'root_pathlen0' });
  const policy = pki.signed('policy', '/CN=Policy', tight, { section: 'policy_ca' });
  const issuing2 = pki.signed('issuing2', '/CN=Issuing 2', policy);
  const deep = pki.signed('deep', '/CN=deep', issuing2, { section: 'server_only' });
  const tooDeep = { certPem: deep.certPem + issuing2.certPem + policy.certPem, keyPem: deep.keyPem };
  const twoUris = pki.signed('two', '/CN=two', root, { section: 'two_uris', key: 'rsa2048' });
  const serverOnly = pki.signed('server', '/CN=server', root, { section: 'server_only', key: 'ed25519' });
  const notCa = pki.selfSigned('notca', '/CN=Not a CA', { section: 'not_ca' });
  const byNotCa = pki.signed('bynotca', '/CN=leaf', notCa, { section: 'server_only', key: 'p384' });

  const good = leafOf();
  const revoked = leafOf();
  const fromNext = leafOf(next);
  const crl = crlOf([revoked]);
  const tampered = Buffer.from(crl.der);
  tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 0xff;
  const goodFiles = { cert: good.certPem, key: good.keyPem, ca: ca.trustBundlePem };

  const cases: [string, Files, Record<string, string>?][] = [
    ['a good identity', goodFiles],
    [
      'someone else’s identity',
      { ...goodFiles, cert: leafOf(ca, 'spiffe://cluster.local/ns/shop/sa/admin').certPem },
    ],
    [
      'an expired leaf',
      (() => {
        const l = leafOf(ca, web, new Date(now.getTime() - 2 * HOUR));
        return { cert: l.certPem, key: l.keyPem, ca: ca.trustBundlePem };
      })(),
    ],
    [
      'a leaf not yet valid',
      (() => {
        const l = leafOf(ca, web, new Date(now.getTime() + 2 * HOUR));
        return { cert: l.certPem, key: l.keyPem, ca: ca.trustBundlePem };
      })(),
    ],
    ['a key that does not match', { ...goodFiles, key: leafOf().keyPem }],
    ['another CA', { ...goodFiles, ca: next.trustBundlePem }],
    [
      'two roots during a CA rotation',
      { cert: fromNext.certPem, key: fromNext.keyPem, ca: ca.trustBundlePem + next.trustBundlePem },
    ],
    [
      'an intermediate in tls.crt',
      { cert: viaIntermediate.certPem, key: viaIntermediate.keyPem, ca: root.certPem },
    ],
    [
      'a missing intermediate',
      {
        cert: viaIntermediate.certPem.slice(
          0,
          viaIntermediate.certPem.indexOf('-----END CERTIFICATE-----') + 26,
        ),
        key: viaIntermediate.keyPem,
        ca: root.certPem,
      },
    ],
    [
      'a chain longer than the root’s path length',
      { cert: tooDeep.certPem, key: tooDeep.keyPem, ca: tight.certPem },
    ],
    [
      'two URI SANs and an RSA key',
      { cert: twoUris.certPem + root.certPem, key: twoUris.keyPem, ca: root.certPem },
    ],
    [
      'no clientAuth and an Ed25519 key',
      { cert: serverOnly.certPem, key: serverOnly.keyPem, ca: root.certPem },
    ],
    ['an issuer that is not a CA', { cert: byNotCa.certPem, key: byNotCa.keyPem, ca: notCa.certPem }],
    ['a CA certificate as the leaf', { cert: ca.trustBundlePem, key: ca.keyPem, ca: ca.trustBundlePem }],
    [
      'unreadable PEM in tls.crt',
      { ...goodFiles, cert: '-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n' },
    ],
    [
      'a root whose subject needs escaping, as the leaf',
      { cert: root.certPem, key: root.keyPem, ca: root.certPem },
    ],
    ['an unterminated block in ca.crt', { ...goodFiles, ca: '-----BEGIN CERTIFICATE-----\nAAAA\n' }],
    [
      'garbage DER in tls.crt',
      { ...goodFiles, cert: toPem('CERTIFICATE', Buffer.from('not a certificate')) },
    ],
    ['empty files', { cert: '', key: '', ca: '' }],
    [
      'an encrypted key',
      {
        ...goodFiles,
        key: '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n',
      },
    ],
    ['a key that is not a key', { ...goodFiles, key: toPem('PRIVATE KEY', Buffer.from('nope')) }],
    ['missing files', {}],
    ['only tls.crt', { cert: good.certPem }],
    ['a revoked leaf', { cert: revoked.certPem, key: revoked.keyPem, ca: ca.trustBundlePem, crl: crl.pem }],
    ['a leaf the CRL does not list', { ...goodFiles, crl: crl.pem }],
    ['a forged CRL', { ...goodFiles, crl: toPem('X509 CRL', tampered) }],
    [
      'a revoked leaf with a forged CRL beside the real one',
      {
        cert: revoked.certPem,
        key: revoked.keyPem,
        ca: ca.trustBundlePem,
        crl: crl.pem + toPem('X509 CRL', tampered),
      },
    ],
    ['an unreadable CRL', { ...goodFiles, crl: '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n' }],
    ['a CRL past its nextUpdate', { ...goodFiles, crl: crlOf([], new Date(now.getTime() - 1000)).pem }],
    [
      'a CRL of another issuer only',
      {
        cert: fromNext.certPem,
        key: fromNext.keyPem,
        ca: ca.trustBundlePem + next.trustBundlePem,
        crl: crl.pem,
      },
    ],
    ['an empty ca.crl', { ...goodFiles, crl: '' }],
    ['no downward-API env', goodFiles, { MTLS_INJECTOR_INIT_WAIT_TIMEOUT: '0s' }],
    [
      'a bad wait timeout and trust domain',
      goodFiles,
      {
        ...podEnv,
        MTLS_INJECTOR_INIT_WAIT_TIMEOUT: '2 minutes',
        MTLS_INJECTOR_TRUST_DOMAIN: 'Cluster.Local',
      },
    ],
    ['another trust domain', goodFiles, { ...podEnv, MTLS_INJECTOR_TRUST_DOMAIN: 'example.org' }],
    ['a wait of 0.5s for missing files', {}, { ...podEnv, MTLS_INJECTOR_INIT_WAIT_TIMEOUT: '0.5s' }],
  ];

  // The cases where the app may start; every other one must keep it from starting.
  const starts = new Set([
    'a good identity',
    'two roots during a CA rotation',
    'an intermediate in tls.crt',
    'a leaf the CRL does not list',
    'a CRL past its nextUpdate',
    'a CRL of another issuer only',
    'an empty ca.crl',
  ]);

  it.each(cases)('%s', async (name, files, env = podEnv) => {
    const dir = mounted(files);
    const [ts, go] = await Promise.all([typescriptInit.run(dir, env), goInit.run(dir, env)]);
    expect(ts.code).toBe(starts.has(name) ? 0 : 1);
    // the subject as node prints it (RFC 2253 escapes), then quoted by JSON.stringify
    if (name.includes('escaping'))
      expect(ts.stderr).toContain(String.raw`"O=Example\\, Inc., CN=Root \\\"R1\\\""`);
    expect(ts.stdout + ts.stderr).not.toContain('BEGIN');
    expect({ code: go.code, stdout: normalise(go.stdout), stderr: normalise(go.stderr) }).toEqual({
      code: ts.code,
      stdout: normalise(ts.stdout),
      stderr: normalise(ts.stderr),
    });
  });
});
