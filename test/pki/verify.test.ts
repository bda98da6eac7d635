import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRootCa, loadCa } from '../../src/pki/ca.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { type VerifyLeafInput, verifyLeaf } from '../../src/pki/verify.js';
import { plus, tempDir } from './helpers.js';
import { opensslPki } from './openssl-pki.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const ID = 'spiffe://cluster.local/ns/demo/sa/backend';
const leafOptions = {
  keyAlgorithm: 'ecdsa-p256',
  lifetimeSeconds: 86_400,
  backdateSeconds: 60,
  now: NOW,
} as const;
const newRoot = () =>
  generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: 365 * 86_400,
    now: NOW,
  });

const ca = newRoot();
const otherCa = newRoot();
const leaf = issueLeaf(ca, { ...leafOptions, spiffeId: ID });
const good: VerifyLeafInput = {
  certChainPem: leaf.certPem,
  keyPem: leaf.keyPem,
  trustBundlePem: ca.trustBundlePem,
  now: NOW,
  expectedSpiffeId: ID,
};
const codes = (input: VerifyLeafInput) => verifyLeaf(input).problems.map((p) => p.code);

describe('verifyLeaf', () => {
  it('accepts a good identity and reports its facts', () => {
    const result = verifyLeaf(good);
    expect(result.ok).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.leaf).toMatchObject({
      spiffeId: ID,
      dnsNames: [],
      notBefore: plus(NOW, -60),
      notAfter: plus(NOW, 86_400),
      serialHex: leaf.serialHex,
      subject: '"O=cluster.local, CN=backend.demo"',
    });
  });

  it('reports validity at both ends', () => {
    expect(codes({ ...good, now: plus(NOW, 86_401) })).toEqual(['expired']);
    expect(codes({ ...good, now: plus(NOW, -61) })).toEqual(['not_yet_valid']);
    const late = verifyLeaf({ ...good, now: plus(NOW, 86_401) }).problems[0]?.message;
    expect(late).toBe(
      'certificate "O=cluster.local, CN=backend.demo" expired at 2026-06-02T12:00:00.000Z (now 2026-06-02T12:00:01.000Z)',
    );
    expect(codes({ ...good, now: plus(NOW, 400 * 86_400) })).toEqual(['expired', 'expired']);
  });

  it('reports a key that does not match, and a key that does not parse', () => {
    const other = issueLeaf(ca, { ...leafOptions, spiffeId: ID });
    expect(codes({ ...good, keyPem: other.keyPem })).toEqual(['key_mismatch']);
    expect(codes({ ...good, keyPem: 'nonsense' })).toEqual(['bad_key']);
    expect(codes({ ...good, keyPem: leaf.certPem })).toEqual(['bad_key']);
    expect(codes({ ...good, keyPem: undefined })).toEqual([]);
  });

  it('reports a chain to a root outside the bundle as untrusted; a rotation bundle trusts both roots', () => {
    expect(codes({ ...good, trustBundlePem: otherCa.trustBundlePem })).toEqual(['untrusted']);
    expect(codes({ ...good, trustBundlePem: otherCa.trustBundlePem + ca.trustBundlePem })).toEqual([]);
  });

  it('reports the wrong identity and a missing SPIFFE ID', () => {
    expect(codes({ ...good, expectedSpiffeId: 'spiffe://cluster.local/ns/demo/sa/frontend' })).toEqual([
      'wrong_identity',
    ]);
    const serving = issueLeaf(ca, { ...leafOptions, dnsNames: ['svc.ns.svc'] });
    const servingInput = {
      ...good,
      certChainPem: serving.certPem,
      keyPem: serving.keyPem,
      expectedSpiffeId: undefined,
    };
    expect(codes(servingInput)).toEqual(['no_spiffe_id']);
    expect(codes({ ...servingInput, requireSpiffeId: false })).toEqual([]);
  });

  it('reports unreadable input as data, without echoing it', () => {
    const none = verifyLeaf({ ...good, certChainPem: '' });
    expect(none).toEqual({
      ok: false,
      leaf: undefined,
      problems: [{ code: 'no_certificate', message: 'certificate chain (tls.crt): holds no certificate' }],
    });
    const garbled = verifyLeaf({ ...good, certChainPem: leaf.certPem.replace(/^MII/m, '!!!') });
    expect(garbled.problems.map((p) => p.code)).toEqual(['bad_pem']);
    const badBundle = verifyLeaf({ ...good, trustBundlePem: 'garbage' });
    expect(badBundle.problems).toEqual([
      { code: 'no_certificate', message: 'trust bundle (ca.crt): holds no certificate' },
    ]);
    for (const problem of [...garbled.problems, ...badBundle.problems])
      expect(problem.message).not.toMatch(/BEGIN|MII/);
  });

  it('reports a CA certificate presented as a leaf', () => {
    expect(
      codes({ ...good, certChainPem: ca.certPem, keyPem: ca.keyPem, expectedSpiffeId: undefined }),
    ).toEqual(['not_a_leaf', 'no_spiffe_id', 'bad_usage']);
  });
});

describe('verifyLeaf with certificates openssl made', () => {
  const dir = tempDir('mtls-verify-');
  let pki: ReturnType<typeof opensslPki>;
  beforeAll(() => {
    pki = opensslPki(dir.dir);
  });
  afterAll(() => dir.cleanup());

  it('follows intermediates and reports a missing one as untrusted', () => {
    const root = pki.selfSigned('root', '/CN=Root');
    const issuing = pki.signed('issuing', '/CN=Issuing', root);
    const byo = loadCa({
      certChainPem: issuing.certPem,
      keyPem: issuing.keyPem,
      bundlePem: root.certPem,
      now: new Date(),
    });
    const issued = issueLeaf(byo, { ...leafOptions, now: new Date(), spiffeId: ID });
    const input = {
      certChainPem: issued.certPem,
      keyPem: issued.keyPem,
      trustBundlePem: root.certPem,
      now: new Date(),
      expectedSpiffeId: ID,
    };
    expect(codes(input)).toEqual([]);
    const leafOnly = issued.certPem.slice(0, issued.certPem.indexOf('-----END CERTIFICATE-----') + 26);
    const missing = verifyLeaf({ ...input, certChainPem: leafOnly });
    expect(missing.problems.map((p) => p.code)).toEqual(['untrusted']);
    expect(missing.problems[0]?.message).toMatch(
      /^certificate "O=cluster.local, CN=backend.demo" was not issued by any root/,
    );
  });

  it('reports two URI SANs and missing clientAuth', () => {
    const root = pki.selfSigned('root2', '/CN=Root 2');
    const twoUris = pki.signed('two', '/CN=two', root, { section: 'two_uris' });
    const base = { keyPem: twoUris.keyPem, trustBundlePem: root.certPem, now: new Date() };
    expect(codes({ ...base, certChainPem: twoUris.certPem })).toEqual(['multiple_uri_sans']);
    const serverOnly = pki.signed('srv', '/CN=srv', root, { section: 'server_only' });
    // openssl stamps notBefore with the current second; checking at "now" could fall a few ms before it.
    const later = new Date(Date.now() + 1000);
    const result = verifyLeaf({
      ...base,
      now: later,
      keyPem: serverOnly.keyPem,
      certChainPem: serverOnly.certPem,
    });
    expect(result.problems).toEqual([
      {
        code: 'bad_usage',
        message:
          'certificate "CN=srv" lacks extended key usage 1.3.6.1.5.5.7.3.2; expected serverAuth and clientAuth',
      },
    ]);
  });
});

describe('verifyLeaf with an empty subject', () => {
  it('labels the certificate by its empty subject instead of failing', () => {
    const bare = issueLeaf(ca, { ...leafOptions, spiffeId: ID, subject: {} });
    const result = verifyLeaf({ ...good, certChainPem: bare.certPem, keyPem: bare.keyPem });
    expect(result.problems).toEqual([]);
    expect(result.leaf?.subject).toBe('""');
    expect(
      verifyLeaf({ ...good, certChainPem: bare.certPem, now: plus(NOW, 86_401) }).problems[0]?.message,
    ).toMatch(/^certificate "" expired at/);
  });
});
