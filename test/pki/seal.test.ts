import { describe, expect, it } from 'vitest';
import { generateRootCa } from '../../src/pki/ca.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { sealKeyOf, sealMatches, sealOf } from '../../src/pki/seal.js';

const now = new Date('2026-11-23T00:00:00Z');
const ca = (): ReturnType<typeof generateRootCa> =>
  generateRootCa({ keyAlgorithm: 'ecdsa-p256', trustDomain: 'cluster.local', lifetimeSeconds: 86_400, now });
const leafOf = (issuer: ReturnType<typeof generateRootCa>) =>
  issueLeaf(issuer, {
    spiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
    keyAlgorithm: 'ecdsa-p256',
    lifetimeSeconds: 3600,
    backdateSeconds: 60,
    now,
  });

describe('seal', () => {
  const issuer = ca();
  const key = sealKeyOf(issuer.keyPem);
  const leaf = leafOf(issuer);
  const seal = sealOf(key, leaf.certPem, leaf.keyPem);

  it('verifies the exact pair it was made for', () => {
    expect(sealMatches(key, seal, leaf.certPem, leaf.keyPem)).toBe(true);
    expect(sealMatches(sealKeyOf(issuer.keyPem), seal, leaf.certPem, leaf.keyPem)).toBe(true);
  });

  it('fails for another key, another certificate, or one changed character', () => {
    const other = leafOf(issuer);
    expect(sealMatches(key, seal, leaf.certPem, other.keyPem)).toBe(false);
    expect(sealMatches(key, seal, other.certPem, leaf.keyPem)).toBe(false);
    const flipped = leaf.keyPem.replace(/[A-Za-z](?=[^\n]*\n-----END)/, (c) => (c === 'A' ? 'B' : 'A'));
    expect(flipped).not.toBe(leaf.keyPem);
    expect(sealMatches(key, seal, leaf.certPem, flipped)).toBe(false);
  });

  it('binds cert and key apart: moving bytes from one to the other does not verify', () => {
    expect(sealMatches(key, seal, leaf.certPem + leaf.keyPem.slice(0, 1), leaf.keyPem.slice(1))).toBe(false);
  });

  it('is made only with the CA key: another CA cannot make one that verifies', () => {
    const forger = sealKeyOf(ca().keyPem);
    expect(forger.equals(key)).toBe(false);
    expect(sealMatches(key, sealOf(forger, leaf.certPem, leaf.keyPem), leaf.certPem, leaf.keyPem)).toBe(
      false,
    );
  });

  it('rejects seals of the wrong length or not base64url, without throwing', () => {
    for (const bad of ['', 'AAAA', `${seal}AA`, '!!!!', seal.slice(1)])
      expect(sealMatches(key, bad, leaf.certPem, leaf.keyPem), bad).toBe(false);
  });

  it('reveals no key material: the seal is 32 bytes of HMAC, the key PEM appears nowhere', () => {
    expect(Buffer.from(seal, 'base64url')).toHaveLength(32);
    expect(seal).not.toContain(issuer.keyPem.slice(30, 60));
  });
});
