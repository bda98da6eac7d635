import { createHash, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import { KEY_ALGORITHMS, type KeyAlgorithm } from '../../src/core/key-algorithm.js';
import { type CertificateAuthority, generateRootCa } from '../../src/pki/ca.js';
import { issueLeaf, type IssueLeafOptions, issueWorkloadIdentity } from '../../src/pki/issue.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { verifyLeaf } from '../../src/pki/verify.js';
import { openssl, opensslExtensions, plus, tempDir, writeFiles } from './helpers.js';

const NOW = new Date('2026-06-01T12:00:00.750Z');
const NOW_S = new Date('2026-06-01T12:00:00Z');
const DAY = 86_400;
const base = { keyAlgorithm: 'ecdsa-p256', lifetimeSeconds: DAY, backdateSeconds: 60, now: NOW } as const;
const ID = 'spiffe://cluster.local/ns/demo/sa/frontend';

const tmp = tempDir('mtls-issue-test-');
afterAll(() => tmp.cleanup());

const cas = new Map<KeyAlgorithm, CertificateAuthority>();
beforeAll(() => {
  for (const keyAlgorithm of KEY_ALGORITHMS) {
    cas.set(
      keyAlgorithm,
      generateRootCa({
        keyAlgorithm,
        trustDomain: 'cluster.local',
        lifetimeSeconds: 10 * 365 * DAY,
        now: NOW,
      }),
    );
  }
});
const ca = (alg: KeyAlgorithm = 'ecdsa-p256'): CertificateAuthority => cas.get(alg) as CertificateAuthority;

function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isInjectorError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected an InjectorError');
}

/** SHA-1 of the subjectPublicKey bits, located by openssl asn1parse (independent of our DER reader). */
function expectedKeyId(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({
    type: 'spki',
    format: 'der',
  });
  const line = openssl(['asn1parse', '-inform', 'DER'], spki)
    .split('\n')
    .find((l) => l.includes('BIT STRING'));
  const [, offset, hl, l] = /(\d+):d=1\s+hl=(\d+)\s+l=\s*(\d+)/.exec(line ?? '') ?? [];
  const start = Number(offset) + Number(hl) + 1;
  const bits = spki.subarray(start, start + Number(l) - 1);
  return createHash('sha1').update(bits).digest('hex').toUpperCase().match(/../g)!.join(':');
}

describe('issueLeaf: the X509-SVID shape (docs/design.md, "Identity"), as openssl reads it', () => {
  it.each(KEY_ALGORITHMS)('%s leaf carries exactly the expected extensions and flags', (keyAlgorithm) => {
    const leaf = issueLeaf(ca(), { ...base, keyAlgorithm, spiffeId: ID, dnsNames: ['web', 'web.demo.svc'] });
    const ext = opensslExtensions(leaf.certPem);
    expect(Object.keys(ext)).toEqual([
      'X509v3 Basic Constraints',
      'X509v3 Key Usage',
      'X509v3 Extended Key Usage',
      'X509v3 Subject Key Identifier',
      'X509v3 Authority Key Identifier',
      'X509v3 Subject Alternative Name',
    ]);
    expect(ext['X509v3 Basic Constraints']).toEqual({ critical: true, value: 'CA:FALSE' });
    const rsa = keyAlgorithm.startsWith('rsa');
    expect(ext['X509v3 Key Usage']).toEqual({
      critical: true,
      value: rsa ? 'Digital Signature, Key Encipherment' : 'Digital Signature',
    });
    expect(ext['X509v3 Extended Key Usage']).toEqual({
      critical: false,
      value: 'TLS Web Server Authentication, TLS Web Client Authentication',
    });
    expect(ext['X509v3 Subject Key Identifier']).toEqual({
      critical: false,
      value: expectedKeyId(leaf.certPem),
    });
    const caSki = opensslExtensions(ca().certPem)['X509v3 Subject Key Identifier']?.value;
    expect(ext['X509v3 Authority Key Identifier']).toEqual({ critical: false, value: caSki });
    expect(ext['X509v3 Subject Alternative Name']).toEqual({
      critical: false,
      value: `URI:${ID}, DNS:web, DNS:web.demo.svc`,
    });
    expect(openssl(['x509', '-noout', '-subject', '-issuer'], leaf.certPem)).toBe(
      'subject=O = cluster.local, CN = frontend.demo\nissuer=O = cluster.local, CN = mtls-injector root CA\n',
    );
    expect(openssl(['x509', '-noout', '-text'], leaf.certPem)).toMatch(
      /Version: 3 \(0x2\)[\s\S]*Signature Algorithm: ecdsa-with-SHA256/,
    );
    // openssl reads our PKCS#8, and its public half is the certificate's.
    expect(openssl(['pkey', '-pubout'], leaf.keyPem)).toBe(
      openssl(['x509', '-noout', '-pubkey'], leaf.certPem),
    );
    expect(leaf.certPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });

  const matrix = KEY_ALGORITHMS.flatMap((caAlg) =>
    KEY_ALGORITHMS.map((leafAlg) => [caAlg, leafAlg] as const),
  );
  it.each(matrix)('openssl verify accepts a %s CA issuing a %s leaf', (caAlg, leafAlg) => {
    const leaf = issueLeaf(ca(caAlg), { ...base, now: new Date(), keyAlgorithm: leafAlg, spiffeId: ID });
    const files = writeFiles(tmp.dir, {
      [`${caAlg}-${leafAlg}.crt`]: leaf.certPem,
      [`${caAlg}.ca`]: ca(caAlg).trustBundlePem,
    });
    const out = openssl([
      'verify',
      '-x509_strict',
      '-purpose',
      'sslclient',
      '-CAfile',
      files[`${caAlg}.ca`]!,
      files[`${caAlg}-${leafAlg}.crt`]!,
    ]);
    expect(out).toMatch(/: OK\n$/);
    expect(
      openssl([
        'verify',
        '-purpose',
        'sslserver',
        '-CAfile',
        files[`${caAlg}.ca`]!,
        files[`${caAlg}-${leafAlg}.crt`]!,
      ]),
    ).toMatch(/: OK\n$/);
  });

  it('makes the SAN critical when the subject is empty (SPIFFE rule)', () => {
    const leaf = issueLeaf(ca(), { ...base, spiffeId: ID, subject: {} });
    expect(opensslExtensions(leaf.certPem)['X509v3 Subject Alternative Name']).toEqual({
      critical: true,
      value: `URI:${ID}`,
    });
    expect(new X509Certificate(leaf.certPem).subject ?? '').toBe('');
  });

  it('issues DNS-only serving certificates (no URI SAN, CN = first DNS name)', () => {
    const names = ['mtls-injector-webhook', 'mtls-injector-webhook.mtls-injector.svc'];
    const leaf = issueLeaf(ca(), { ...base, dnsNames: names });
    const ext = opensslExtensions(leaf.certPem);
    expect(ext['X509v3 Subject Alternative Name']).toEqual({
      critical: false,
      value: names.map((n) => `DNS:${n}`).join(', '),
    });
    expect(new X509Certificate(leaf.certPem).subject).toBe('CN=mtls-injector-webhook');
    expect(leaf.spiffeId).toBeUndefined();
    const result = verifyLeaf({
      certChainPem: leaf.certPem,
      keyPem: leaf.keyPem,
      trustBundlePem: ca().trustBundlePem,
      now: NOW,
      requireSpiffeId: false,
    });
    expect(result.problems).toEqual([]);
    expect(new X509Certificate(leaf.certPem).checkHost('mtls-injector-webhook.mtls-injector.svc')).toBe(
      names[1],
    );
  });
});

describe('issueLeaf: validity', () => {
  it('back-dates notBefore and sets notAfter to now + lifetime, in whole seconds', () => {
    const leaf = issueLeaf(ca(), { ...base, spiffeId: ID });
    expect(leaf.notBefore).toEqual(plus(NOW_S, -60));
    expect(leaf.notAfter).toEqual(plus(NOW_S, DAY));
    expect(leaf.capped).toBe(false);
    const cert = new X509Certificate(leaf.certPem);
    expect(new Date(cert.validFrom)).toEqual(leaf.notBefore);
    expect(new Date(cert.validTo)).toEqual(leaf.notAfter);
    expect(issueLeaf(ca(), { ...base, spiffeId: ID, backdateSeconds: 0 }).notBefore).toEqual(NOW_S);
  });

  it('never back-dates before the CA notBefore', () => {
    const fresh = generateRootCa({
      keyAlgorithm: 'ecdsa-p256',
      trustDomain: 'cluster.local',
      lifetimeSeconds: DAY,
      now: NOW,
      backdateSeconds: 0,
    });
    expect(issueLeaf(fresh, { ...base, spiffeId: ID }).notBefore).toEqual(NOW_S);
  });

  it('caps notAfter at the CA notAfter and says so (E3)', () => {
    const ending = generateRootCa({
      keyAlgorithm: 'ecdsa-p256',
      trustDomain: 'cluster.local',
      lifetimeSeconds: 3600,
      now: NOW,
    });
    const leaf = issueLeaf(ending, { ...base, spiffeId: ID });
    expect(leaf.capped).toBe(true);
    expect(leaf.notAfter).toEqual(ending.notAfter);
    expect(leaf.notAfter).toEqual(plus(NOW_S, 3600));
    expect(new Date(new X509Certificate(leaf.certPem).validTo)).toEqual(ending.notAfter);
  });

  it('refuses to issue from an expired or not yet valid CA', () => {
    const expired = thrown(() => issueLeaf(ca(), { ...base, spiffeId: ID, now: plus(ca().notAfter, 1) }));
    expect(expired.code).toBe('MTLS_ERR_PKI_CA_EXPIRED');
    expect(expired.message).toMatch(/expired at 2036-/);
    const early = thrown(() => issueLeaf(ca(), { ...base, spiffeId: ID, now: plus(ca().notBefore, -1) }));
    expect(early.code).toBe('MTLS_ERR_PKI_CA_NOT_YET_VALID');
  });

  it('keeps distinct lifetimes apart within the same second', () => {
    const a = issueLeaf(ca(), { ...base, spiffeId: ID, lifetimeSeconds: 3600 });
    const b = issueLeaf(ca(), { ...base, spiffeId: ID, lifetimeSeconds: 7200 });
    expect(new Date(new X509Certificate(a.certPem).validTo)).toEqual(plus(NOW_S, 3600));
    expect(new Date(new X509Certificate(b.certPem).validTo)).toEqual(plus(NOW_S, 7200));
  });

  it('refuses nonsensical lifetimes', () => {
    expect(thrown(() => issueLeaf(ca(), { ...base, spiffeId: ID, lifetimeSeconds: 0 })).code).toBe(
      'MTLS_ERR_USAGE',
    );
    expect(thrown(() => issueLeaf(ca(), { ...base, spiffeId: ID, backdateSeconds: -1 })).code).toBe(
      'MTLS_ERR_USAGE',
    );
    expect(thrown(() => issueLeaf(ca(), { ...base, spiffeId: ID, lifetimeSeconds: Number.NaN })).code).toBe(
      'MTLS_ERR_USAGE',
    );
  });
});

describe('issueLeaf: serials and keys', () => {
  it('serials are 16 random bytes, positive, minimal DER, unique', () => {
    const serials = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const { serialHex } = issueLeaf(ca(), { ...base, spiffeId: ID });
      expect(serialHex).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(serialHex.startsWith('00')).toBe(false);
      serials.add(serialHex);
    }
    expect(serials.size).toBe(2000);
    const leaf = issueLeaf(ca(), { ...base, spiffeId: ID });
    expect(openssl(['x509', '-noout', '-serial'], leaf.certPem).trim().toLowerCase()).toBe(
      `serial=${leaf.serialHex}`,
    );
  });

  it('uses a supplied key and refuses one of the wrong algorithm', () => {
    const key = generateKeyPair('ed25519');
    const leaf = issueLeaf(ca(), { ...base, keyAlgorithm: 'ed25519', spiffeId: ID, key });
    expect(
      new X509Certificate(leaf.certPem).publicKey.export({ type: 'spki', format: 'der' }).equals(key.spki),
    ).toBe(true);
    const wrong = thrown(() => issueLeaf(ca(), { ...base, keyAlgorithm: 'ecdsa-p256', spiffeId: ID, key }));
    expect(wrong).toEqual({
      code: 'MTLS_ERR_USAGE',
      message: 'leaf: the supplied key is ed25519; expected ecdsa-p256',
    });
  });

  it('keeps the key out of JSON and inspect output', () => {
    const leaf = issueLeaf(ca(), { ...base, spiffeId: ID });
    expect(leaf.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(Object.keys(leaf)).not.toContain('keyPem');
    expect(JSON.stringify(leaf)).not.toContain('PRIVATE');
  });
});

describe('issueLeaf and issueWorkloadIdentity: names', () => {
  const ns63 = `n${'a'.repeat(61)}z`;
  const sa253 = [63, 63, 63, 61].map((n, i) => String.fromCharCode(97 + i).repeat(n)).join('.');

  it('accepts a namespace of 63 and a service account of 253 characters; CN is cut to 64', () => {
    expect(ns63).toHaveLength(63);
    expect(sa253).toHaveLength(253);
    const leaf = issueWorkloadIdentity(
      ca(),
      { trustDomain: 'cluster.local', namespace: ns63, serviceAccount: sa253 },
      base,
    );
    expect(leaf.identity.spiffeId).toBe(`spiffe://cluster.local/ns/${ns63}/sa/${sa253}`);
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.subject).toBe(`O=cluster.local\nCN=${`${sa253}.${ns63}`.slice(0, 64)}`);
    expect(opensslExtensions(leaf.certPem)['X509v3 Subject Alternative Name']?.value).toBe(
      `URI:${leaf.identity.spiffeId}`,
    );
    const files = writeFiles(tmp.dir, { 'long.crt': leaf.certPem, 'long-ca.crt': ca().certPem });
    expect(
      openssl([
        'verify',
        '-attime',
        String(NOW_S.getTime() / 1000),
        '-CAfile',
        files['long-ca.crt']!,
        files['long.crt']!,
      ]),
    ).toMatch(/OK/);
  });

  it.each([
    ['namespace', `${ns63}x`, 'sa', /namespace is 64 characters; expected at most 63/],
    ['namespace', 'Demo', 'sa', /namespace "Demo" is not a DNS-1123 label/],
    ['namespace', 'a_b', 'sa', /namespace "a_b" is not a DNS-1123 label/],
    ['namespace', '-a', 'sa', /namespace "-a" is not a DNS-1123 label/],
    ['namespace', 'a.b', 'sa', /namespace "a.b" is not a DNS-1123 label/],
    ['namespace', '', 'sa', /namespace is empty/],
    ['serviceAccount', 'ns', `${sa253}x`, /serviceAccount is 254 characters; expected at most 253/],
    ['serviceAccount', 'ns', 'b/admin', /serviceAccount "b\/admin" is not a DNS-1123 subdomain/],
    [
      'serviceAccount',
      'ns',
      'system:serviceaccount:b:admin',
      /serviceAccount "system:serviceaccount:b:admin" is not/,
    ],
    ['serviceAccount', 'ns', 'a..b', /serviceAccount "a..b" is not a DNS-1123 subdomain/],
    ['serviceAccount', 'ns', 'Admin', /serviceAccount "Admin" is not a DNS-1123 subdomain/],
    ['serviceAccount', 'ns', 'a-', /serviceAccount "a-" is not a DNS-1123 subdomain/],
  ])('refuses a bad %s %j', (_field, namespace, serviceAccount, message) => {
    const err = thrown(() =>
      issueWorkloadIdentity(ca(), { trustDomain: 'cluster.local', namespace, serviceAccount }, base),
    );
    expect(err.code).toBe('MTLS_ERR_IDENTITY_INVALID_NAME');
    expect(err.message).toMatch(message);
  });

  it.each([
    'http://cluster.local/ns/a/sa/b',
    'spiffe://Cluster.local/ns/a/sa/b',
    'spiffe://cluster.local',
    'spiffe://cluster.local/',
    'spiffe://cluster.local/ns//sa/b',
    'spiffe://cluster.local/ns/../sa/b',
    'spiffe://cluster.local/ns/a/sa/b?x=1',
    'spiffe://cluster.local/ns/a/sa/b#frag',
    'spiffe://user@cluster.local/ns/a',
    `spiffe://cluster.local/${'a'.repeat(2030)}`,
  ])('refuses SPIFFE ID %j', (spiffeId) => {
    const err = thrown(() => issueLeaf(ca(), { ...base, spiffeId }));
    expect(err.code).toBe('MTLS_ERR_IDENTITY_INVALID_NAME');
    expect(err.message).toMatch(/^leaf: spiffeId/);
  });

  it('accepts other SPIFFE path shapes, with O from the trust domain and no CN', () => {
    const leaf = issueLeaf(ca(), { ...base, spiffeId: 'spiffe://example.org/mtls-injector/webhook' });
    expect(new X509Certificate(leaf.certPem).subject).toBe('O=example.org');
  });

  it.each([
    ['a_b', 0],
    ['-a.svc', 0],
    ['a..b', 0],
    [`${'a'.repeat(64)}.svc`, 0],
    [`${'a.'.repeat(127)}ab`, 0],
    ['é.svc', 0],
    ['ok.svc', 1],
  ] as const)('refuses DNS name %j naming its index', (bad, index) => {
    const dnsNames = index === 0 ? [bad] : ['fine', 'ok.svc bad'];
    const err = thrown(() => issueLeaf(ca(), { ...base, spiffeId: ID, dnsNames }));
    expect(err.code).toBe('MTLS_ERR_IDENTITY_INVALID_NAME');
    expect(err.message).toMatch(new RegExp(`^leaf: dnsNames\\[${index}\\]`));
  });

  it('accepts DNS names at their limits and wildcards', () => {
    const label63 = 'a'.repeat(63);
    const name253 = [label63, label63, label63, 'b'.repeat(61)].join('.');
    const leaf = issueLeaf(ca(), { ...base, spiffeId: ID, dnsNames: [name253, '*.demo.svc', 'UPPER.case'] });
    expect(leaf.dnsNames).toEqual([name253, '*.demo.svc', 'UPPER.case']);
  });

  it('refuses a leaf with no name at all', () => {
    const options: IssueLeafOptions = { ...base };
    expect(thrown(() => issueLeaf(ca(), options)).message).toBe(
      'leaf: expected a spiffeId or at least one DNS name, got neither',
    );
  });

  it('refuses a CA object that did not come from generateRootCa or loadCa', () => {
    const fake = { ...ca() };
    expect(thrown(() => issueLeaf(fake, { ...base, spiffeId: ID })).message).toMatch(
      /expected a CA returned by generateRootCa or loadCa/,
    );
  });
});
