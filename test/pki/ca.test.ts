import { createPrivateKey } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import { KEY_ALGORITHMS } from '../../src/core/key-algorithm.js';
import { generateRootCa, loadCa, type LoadCaOptions } from '../../src/pki/ca.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { verifyLeaf } from '../../src/pki/verify.js';
import { openssl, opensslExtensions, opensslStatus, plus, tempDir, writeFiles } from './helpers.js';
import { type Issued, opensslPki } from './openssl-pki.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const TEN_YEARS = 87_600 * 3600;
const leafOptions = { keyAlgorithm: 'ecdsa-p256', lifetimeSeconds: 86_400, backdateSeconds: 60 } as const;
const SPIFFE_ID = 'spiffe://cluster.local/ns/demo/sa/frontend';

function refusal(options: LoadCaOptions): { code: string; message: string } {
  try {
    loadCa(options);
  } catch (err) {
    if (!isInjectorError(err)) throw err;
    expect(err.message).not.toMatch(/-----BEGIN|-----END/);
    return { code: err.code, message: err.message };
  }
  throw new Error('expected loadCa to refuse');
}

const tmp = tempDir('mtls-ca-test-');

function opensslDate(certPem: string, which: 'startdate' | 'enddate'): string {
  return (
    openssl(['x509', '-noout', `-${which}`], certPem)
      .split('=')[1]
      ?.trim() ?? ''
  );
}
afterAll(() => tmp.cleanup());

describe('generateRootCa', () => {
  it.each(KEY_ALGORITHMS)(
    '%s root: CA:TRUE and keyUsage critical, SKI, subject, lifetime, back-date',
    (keyAlgorithm) => {
      const ca = generateRootCa({
        keyAlgorithm,
        trustDomain: 'example.org',
        lifetimeSeconds: TEN_YEARS,
        now: NOW,
      });
      const ext = opensslExtensions(ca.certPem);
      expect(Object.keys(ext).sort()).toEqual([
        'X509v3 Basic Constraints',
        'X509v3 Key Usage',
        'X509v3 Subject Key Identifier',
      ]);
      expect(ext['X509v3 Basic Constraints']).toEqual({ critical: true, value: 'CA:TRUE' });
      expect(ext['X509v3 Key Usage']).toEqual({ critical: true, value: 'Certificate Sign, CRL Sign' });
      expect(ext['X509v3 Subject Key Identifier']?.value.replace(/:/g, '').toLowerCase()).toBe(
        ca.subjectKeyIdHex,
      );
      expect(openssl(['x509', '-noout', '-subject', '-issuer'], ca.certPem)).toBe(
        'subject=O = example.org, CN = mtls-injector root CA\nissuer=O = example.org, CN = mtls-injector root CA\n',
      );
      const files = writeFiles(tmp.dir, { [`root-${keyAlgorithm}.crt`]: ca.certPem });
      const path = files[`root-${keyAlgorithm}.crt`] as string;
      expect(openssl(['verify', '-attime', String(NOW.getTime() / 1000), '-CAfile', path, path])).toBe(
        `${path}: OK\n`,
      );
      expect(ca.certificate.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
      expect(ca.notBefore).toEqual(plus(NOW, -3600));
      expect(ca.notAfter).toEqual(plus(NOW, TEN_YEARS));
      expect(ca.selfSigned).toBe(true);
      expect(ca.organization).toBe('example.org');
      expect(ca.chainPem).toBe('');
      expect(ca.trustBundlePem).toBe(ca.certPem);
    },
  );

  it('writes notAfter from 2050 on as GeneralizedTime', () => {
    const ca = generateRootCa({
      keyAlgorithm: 'ecdsa-p256',
      trustDomain: 'cluster.local',
      lifetimeSeconds: 30 * 366 * 86_400,
      now: NOW,
    });
    const parsed = openssl(['asn1parse', '-inform', 'PEM'], ca.certPem);
    expect(parsed).toMatch(/UTCTIME\s+:260601110000Z/);
    expect(parsed).toMatch(/GENERALIZEDTIME\s+:2056\d{10}Z/);
    expect(ca.certificate.validTo).toMatch(/2056 GMT$/);
  });

  it('cuts a trust domain longer than 64 characters in O (X.520 bound) and refuses an invalid one', () => {
    const long = `${'a'.repeat(70)}.example`;
    const ca = generateRootCa({
      keyAlgorithm: 'ecdsa-p256',
      trustDomain: long,
      lifetimeSeconds: TEN_YEARS,
      now: NOW,
    });
    expect(ca.certificate.subject).toBe(`O=${'a'.repeat(64)}\nCN=mtls-injector root CA`);
    let thrown: unknown;
    try {
      generateRootCa({
        keyAlgorithm: 'ecdsa-p256',
        trustDomain: 'Bad Domain',
        lifetimeSeconds: TEN_YEARS,
        now: NOW,
      });
    } catch (err) {
      thrown = err;
    }
    expect(isInjectorError(thrown, 'MTLS_ERR_IDENTITY_INVALID_NAME')).toBe(true);
    expect((thrown as Error).message).toMatch(/trustDomain "Bad Domain" is invalid/);
  });

  it('keeps the key out of JSON and inspect output', () => {
    const ca = generateRootCa({
      keyAlgorithm: 'ecdsa-p256',
      trustDomain: 'cluster.local',
      lifetimeSeconds: TEN_YEARS,
      now: NOW,
    });
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(JSON.stringify(ca)).not.toContain('PRIVATE KEY');
    expect(inspect(ca, { depth: 4 })).not.toContain('PRIVATE KEY');
  });

  it('round-trips through loadCa', () => {
    const ca = generateRootCa({
      keyAlgorithm: 'ed25519',
      trustDomain: 'cluster.local',
      lifetimeSeconds: TEN_YEARS,
      now: NOW,
    });
    const loaded = loadCa({ certChainPem: ca.certPem, keyPem: ca.keyPem, now: NOW });
    expect(loaded.certPem).toBe(ca.certPem);
    expect(loaded.trustBundlePem).toBe(ca.certPem);
    expect(loaded.chainPem).toBe('');
    expect(loaded.selfSigned).toBe(true);
    expect(loaded.signatureAlgorithm).toBe('Ed25519');
    expect(loaded.subjectKeyIdHex).toBe(ca.subjectKeyIdHex);
    expect(loaded.notAfter).toEqual(ca.notAfter);
    expect(loaded.organization).toBe('cluster.local');
  });
});

describe('loadCa with a PKI built by openssl', () => {
  const dir = tempDir('mtls-ca-openssl-');
  let pki: ReturnType<typeof opensslPki>;
  let root: Issued;
  let policy: Issued;
  let issuing: Issued;
  let direct: Issued;

  beforeAll(() => {
    pki = opensslPki(dir.dir);
    root = pki.selfSigned('root', '/O=Example Corp/CN=Example Root CA', { key: 'p384', days: 3650 });
    policy = pki.signed('policy', '/O=Example Corp/CN=Example Policy CA', root, {
      section: 'policy_ca',
      days: 1800,
    });
    issuing = pki.signed('issuing', '/O=Example Corp/CN=Example Kubernetes Issuing CA', policy, {
      key: 'rsa2048',
      days: 365,
    });
    direct = pki.signed('direct', '/O=Example Corp/CN=Example Direct CA', root, { days: 365 });
  });
  afterAll(() => dir.cleanup());

  const now = (): Date => new Date();

  it('accepts an issuing CA under a policy CA under a root, and its leaves verify with openssl', () => {
    const ca = loadCa({
      certChainPem: issuing.certPem + policy.certPem,
      keyPem: issuing.keyPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(ca.selfSigned).toBe(false);
    expect(ca.signatureAlgorithm).toBe('sha256WithRSAEncryption');
    expect(ca.certificate.subject).toContain('CN=Example Kubernetes Issuing CA');
    expect(ca.organization).toBe('Example Corp');
    expect(ca.chainPem).toBe(openssl(['x509'], issuing.certPem) + openssl(['x509'], policy.certPem));
    expect(ca.trustBundlePem).toBe(openssl(['x509'], root.certPem));

    const leaf = issueLeaf(ca, { ...leafOptions, spiffeId: SPIFFE_ID, now: now() });
    expect(leaf.certPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    const files = writeFiles(dir.dir, { 'tls.crt': leaf.certPem, 'bundle.crt': ca.trustBundlePem });
    expect(
      openssl([
        'verify',
        '-CAfile',
        files['bundle.crt']!,
        '-untrusted',
        files['tls.crt']!,
        files['tls.crt']!,
      ]),
    ).toMatch(/: OK\n$/);
    // The AKI of the leaf is the issuing CA's SKI as openssl wrote it.
    const issuingSki = opensslExtensions(issuing.certPem)['X509v3 Subject Key Identifier']?.value;
    expect(opensslExtensions(leaf.certPem)['X509v3 Authority Key Identifier']?.value).toBe(issuingSki);
    const result = verifyLeaf({
      certChainPem: leaf.certPem,
      keyPem: leaf.keyPem,
      trustBundlePem: ca.trustBundlePem,
      now: now(),
      expectedSpiffeId: SPIFFE_ID,
    });
    expect(result.problems).toEqual([]);
  });

  it('accepts the root appended to tls.crt without a bundle, and leaves it out of the chain', () => {
    const ca = loadCa({ certChainPem: direct.certPem + root.certPem, keyPem: direct.keyPem, now: now() });
    expect(ca.trustBundlePem).toBe(openssl(['x509'], root.certPem));
    expect(ca.chainPem).toBe(openssl(['x509'], direct.certPem));
    expect(ca.signatureAlgorithm).toBe('ecdsa-with-SHA256');
  });

  it('bounds the CA window by the earliest notAfter on the path, and caps leaves there (E3)', () => {
    const shortRoot = pki.selfSigned('short-root', '/CN=Short Root', { days: 30 });
    const outlives = pki.signed('outlives', '/CN=Outlives Its Root', shortRoot, { days: 365 });
    const ca = loadCa({
      certChainPem: outlives.certPem,
      keyPem: outlives.keyPem,
      bundlePem: shortRoot.certPem,
      now: now(),
    });
    const rootNotAfter = new Date(opensslDate(shortRoot.certPem, 'enddate'));
    expect(ca.notAfter).toEqual(rootNotAfter);
    expect(ca.notAfter.getTime()).toBeLessThan(new Date(opensslDate(outlives.certPem, 'enddate')).getTime());
    const leaf = issueLeaf(ca, {
      ...leafOptions,
      spiffeId: SPIFFE_ID,
      lifetimeSeconds: 60 * 86_400,
      now: now(),
    });
    expect(leaf.capped).toBe(true);
    expect(leaf.notAfter).toEqual(rootNotAfter);
  });

  it.each([['SEC1 (EC PRIVATE KEY)', 'sec1']] as const)('accepts a %s key', (_, form) => {
    const ca = loadCa({
      certChainPem: direct.certPem,
      keyPem: pki.keyAs(direct, form),
      bundlePem: root.certPem,
      now: now(),
    });
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('accepts a PKCS#1 (RSA PRIVATE KEY) key', () => {
    const ca = loadCa({
      certChainPem: issuing.certPem + policy.certPem,
      keyPem: pki.keyAs(issuing, 'pkcs1'),
      bundlePem: root.certPem,
      now: now(),
    });
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('refuses a key that does not match (E4)', () => {
    const r = refusal({
      certChainPem: direct.certPem,
      keyPem: issuing.keyPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(r.code).toBe('MTLS_ERR_PKI_CA_KEY_MISMATCH');
    expect(r.message).toContain('"O=Example Corp, CN=Example Direct CA"');
    expect(r.message).toMatch(/same issuance/);
  });

  it('refuses a certificate with CA:FALSE (E5)', () => {
    const leafLike = pki.signed('notca', '/CN=Not A CA', root, { section: 'not_ca' });
    const r = refusal({
      certChainPem: leafLike.certPem,
      keyPem: leafLike.keyPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(r.code).toBe('MTLS_ERR_PKI_CA_NOT_CA');
    expect(r.message).toMatch(/"CN=Not A CA" is not a CA \(basicConstraints CA:TRUE false\)/);
  });

  it('refuses a CA without keyCertSign, or without keyUsage at all (E5)', () => {
    const noSign = pki.signed('nosign', '/CN=No Cert Sign', root, { section: 'no_cert_sign' });
    const r = refusal({
      certChainPem: noSign.certPem,
      keyPem: noSign.keyPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(r.code).toBe('MTLS_ERR_PKI_CA_NO_KEY_CERT_SIGN');
    expect(r.message).toMatch(/"CN=No Cert Sign" lacks keyUsage keyCertSign \(not set\)/);
    const noKu = pki.signed('noku', '/CN=No Key Usage', root, { section: 'no_key_usage' });
    const r2 = refusal({
      certChainPem: noKu.certPem,
      keyPem: noKu.keyPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(r2.code).toBe('MTLS_ERR_PKI_CA_NO_KEY_CERT_SIGN');
    expect(r2.message).toMatch(/no keyUsage extension/);
  });

  it('refuses an expired CA (E2)', () => {
    const old = pki.signed('expired', '/CN=Expired CA', root, {
      start: '20200101000000Z',
      end: '20200201000000Z',
    });
    const r = refusal({ certChainPem: old.certPem, keyPem: old.keyPem, bundlePem: root.certPem, now: now() });
    expect(r.code).toBe('MTLS_ERR_PKI_CA_EXPIRED');
    expect(r.message).toMatch(/"CN=Expired CA" expired at 2020-02-01T00:00:00.000Z/);
    expect(r.message).toMatch(/renew or replace/);
  });

  it('refuses a CA that is not yet valid (E6)', () => {
    const future = pki.signed('future', '/CN=Future CA', root, {
      start: '20990101000000Z',
      end: '20991231000000Z',
    });
    const r = refusal({
      certChainPem: future.certPem,
      keyPem: future.keyPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(r.code).toBe('MTLS_ERR_PKI_CA_NOT_YET_VALID');
    expect(r.message).toMatch(/"CN=Future CA" is not valid before 2099-01-01T00:00:00.000Z/);
    expect(r.message).toMatch(/clock/);
  });

  it('refuses when a chain certificate has expired at `now`', () => {
    const r = refusal({
      certChainPem: issuing.certPem + policy.certPem,
      keyPem: issuing.keyPem,
      bundlePem: root.certPem,
      now: plus(new Date(), 400 * 86_400),
    });
    expect(r.code).toBe('MTLS_ERR_PKI_CA_EXPIRED');
  });

  it('refuses broken chains (intermediates missing, out of order, root not trusted, path length)', () => {
    const missing = refusal({
      certChainPem: issuing.certPem,
      keyPem: issuing.keyPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(missing.code).toBe('MTLS_ERR_PKI_CA_CHAIN_INVALID');
    expect(missing.message).toMatch(
      /no certificate in the trust bundle \(ca.crt\) issued "O=Example Corp, CN=Example Kubernetes Issuing CA"/,
    );

    const noBundle = refusal({
      certChainPem: issuing.certPem + policy.certPem,
      keyPem: issuing.keyPem,
      now: now(),
    });
    expect(noBundle.code).toBe('MTLS_ERR_PKI_CA_CHAIN_INVALID');
    expect(noBundle.message).toMatch(/not self-signed and no trust bundle was given/);

    const wrongOrder = refusal({
      certChainPem: issuing.certPem + root.certPem + policy.certPem,
      keyPem: issuing.keyPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(wrongOrder.code).toBe('MTLS_ERR_PKI_CA_CHAIN_INVALID');
    expect(wrongOrder.message).toMatch(/certificate 2 of tls.crt .* did not issue certificate 1/);

    const otherRoot = pki.selfSigned('other-root', '/CN=Other Root');
    const untrusted = refusal({
      certChainPem: direct.certPem + root.certPem,
      keyPem: direct.keyPem,
      bundlePem: otherRoot.certPem,
      now: now(),
    });
    expect(untrusted.code).toBe('MTLS_ERR_PKI_CA_CHAIN_INVALID');
    expect(untrusted.message).toMatch(/is not in the trust bundle/);

    const strictRoot = pki.selfSigned('strict-root', '/CN=Strict Root', { section: 'root_pathlen0' });
    const mid = pki.signed('mid', '/CN=Mid', strictRoot, { section: 'policy_ca' });
    const low = pki.signed('low', '/CN=Low', mid);
    const pathLen = refusal({
      certChainPem: low.certPem + mid.certPem,
      keyPem: low.keyPem,
      bundlePem: strictRoot.certPem,
      now: now(),
    });
    expect(pathLen.code).toBe('MTLS_ERR_PKI_CA_CHAIN_INVALID');
    expect(pathLen.message).toMatch(/"CN=Strict Root" has pathLenConstraint 0 but 2 CA certificate/);
  });

  it('refuses bad PEM, encrypted keys and unsupported key types, naming the file', () => {
    const garbage = refusal({ certChainPem: 'not a certificate', keyPem: direct.keyPem, now: now() });
    expect(garbage.code).toBe('MTLS_ERR_PKI_BAD_PEM');
    expect(garbage.message).toMatch(/^CA certificate \(tls.crt\): expected at least one CERTIFICATE block/);

    const corrupt = direct.certPem.replace(/^(MII.{10})/m, 'MIIAAAAAAAAAA');
    expect(refusal({ certChainPem: corrupt, keyPem: direct.keyPem, now: now() }).code).toBe(
      'MTLS_ERR_PKI_BAD_PEM',
    );

    const encrypted = refusal({
      certChainPem: direct.certPem,
      keyPem: pki.keyAs(direct, 'encrypted'),
      bundlePem: root.certPem,
      now: now(),
    });
    expect(encrypted.code).toBe('MTLS_ERR_PKI_BAD_PEM');
    expect(encrypted.message).toMatch(/CA key \(tls.key\): the key is encrypted/);

    const noKey = refusal({
      certChainPem: direct.certPem,
      keyPem: direct.certPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(noKey.message).toMatch(/CA key \(tls.key\): expected a PRIVATE KEY block/);

    const k1 = pki.signed('k1', '/CN=secp256k1 CA', root, { key: 'secp256k1', section: 'issuing_ca' });
    const unsupported = refusal({
      certChainPem: k1.certPem,
      keyPem: k1.keyPem,
      bundlePem: root.certPem,
      now: now(),
    });
    expect(unsupported.code).toBe('MTLS_ERR_PKI_UNSUPPORTED_KEY');
    expect(unsupported.message).toMatch(
      /EC curve secp256k1 is not supported; expected P-256, P-384 or P-521/,
    );
  });

  it('accepts a bundle with several roots (rotation) when one of them anchors the chain', () => {
    const other = pki.selfSigned('other-root-2', '/CN=Other Root 2');
    const ca = loadCa({
      certChainPem: direct.certPem,
      keyPem: direct.keyPem,
      bundlePem: other.certPem + root.certPem + root.certPem,
      now: now(),
    });
    expect(ca.trustBundlePem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const status = opensslStatus(['x509', '-noout'], ca.trustBundlePem);
    expect(status.status).toBe(0);
  });
});
