/**
 * verifyLeaf checks signatures from the DER (src/pki/verify.ts, class Parsed) instead of building
 * node:crypto's X509Certificate for every leaf: the same answers, for every key type, and no signature or
 * algorithm swap gets through.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateRootCa } from '../../src/pki/ca.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { splitPem, toPem } from '../../src/pki/pem.js';
import { verifyLeaf } from '../../src/pki/verify.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const ID = 'spiffe://cluster.local/ns/demo/sa/backend';

const root = (keyAlgorithm: 'ecdsa-p256' | 'rsa-2048' | 'ed25519') =>
  generateRootCa({ keyAlgorithm, trustDomain: 'cluster.local', lifetimeSeconds: 365 * 86_400, now: NOW });
const leafOf = (ca: ReturnType<typeof root>) =>
  issueLeaf(ca, {
    spiffeId: ID,
    keyAlgorithm: 'ecdsa-p256',
    lifetimeSeconds: 86_400,
    backdateSeconds: 60,
    now: NOW,
  });
const derOf = (pem: string): Buffer => (splitPem(pem)[0] as { der: Buffer }).der;
const check = (certPem: string, keyPem: string, bundle: string) =>
  verifyLeaf({ certChainPem: certPem, keyPem, trustBundlePem: bundle, now: NOW, expectedSpiffeId: ID });

describe('verifyLeaf from the DER', () => {
  for (const algorithm of ['ecdsa-p256', 'rsa-2048', 'ed25519'] as const) {
    it(`accepts a leaf of a ${algorithm} CA and rejects it under another CA of the same type`, () => {
      const ca = root(algorithm);
      const leaf = leafOf(ca);
      expect(check(leaf.certPem, leaf.keyPem, ca.trustBundlePem).problems).toEqual([]);
      const other = root(algorithm);
      expect(check(leaf.certPem, leaf.keyPem, other.trustBundlePem).problems.map((p) => p.code)).toEqual([
        'untrusted',
      ]);
    });
  }

  it('reports the fingerprint node:crypto reports', () => {
    const ca = root('ecdsa-p256');
    const leaf = leafOf(ca);
    const facts = check(leaf.certPem, leaf.keyPem, ca.trustBundlePem).leaf;
    expect(facts?.fingerprint256).toBe(new X509Certificate(derOf(leaf.certPem)).fingerprint256);
  });

  it('rejects a leaf whose signature was altered', () => {
    const ca = root('ecdsa-p256');
    const leaf = leafOf(ca);
    const der = Buffer.from(derOf(leaf.certPem));
    // the last bytes are the signature's s integer
    der[der.length - 1] = (der[der.length - 1] as number) ^ 0x01;
    const problems = check(toPem('CERTIFICATE', der), leaf.keyPem, ca.trustBundlePem).problems;
    expect(problems.map((p) => p.code)).toEqual(['untrusted']);
  });

  it('rejects a leaf whose outer signature algorithm differs from the signed one', () => {
    const ca = root('ecdsa-p256');
    const leaf = leafOf(ca);
    const der = Buffer.from(derOf(leaf.certPem));
    // ecdsa-with-SHA256 (…04 03 02) appears twice: inside tbsCertificate and after it; change the outer one
    const oid = Buffer.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
    const outer = der.lastIndexOf(oid);
    expect(outer).toBeGreaterThan(der.indexOf(oid));
    der[outer + oid.length - 1] = 0x03; // ecdsa-with-SHA384
    const problems = check(toPem('CERTIFICATE', der), leaf.keyPem, ca.trustBundlePem).problems;
    expect(problems.map((p) => p.code)).toEqual(['untrusted']);
  });

  it('rejects a leaf "signed" by an ECDSA algorithm when the root holds an RSA key', () => {
    const rsa = root('rsa-2048');
    const ec = root('ecdsa-p256');
    const leaf = leafOf(ec);
    const problems = check(leaf.certPem, leaf.keyPem, rsa.trustBundlePem).problems;
    expect(problems.map((p) => p.code)).toEqual(['untrusted']);
  });
});
