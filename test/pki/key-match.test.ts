import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateRootCa } from '../../src/pki/ca.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { generateKeyPair, p256PublicPointOf } from '../../src/pki/keys.js';
import { keyMatchProblem } from '../../src/pki/key-match.js';
import { readCertificateInfo } from '../../src/pki/certificate-info.js';

const now = new Date();
const ca = generateRootCa({
  keyAlgorithm: 'ecdsa-p256',
  trustDomain: 'cluster.local',
  lifetimeSeconds: 86_400,
  now,
});
const leaf = (keyAlgorithm: 'ecdsa-p256' | 'ed25519') =>
  issueLeaf(ca, {
    spiffeId: 'spiffe://cluster.local/ns/a/sa/b',
    keyAlgorithm,
    lifetimeSeconds: 3600,
    backdateSeconds: 60,
    now,
  });

describe('P-256 key match fast path', () => {
  it('derives the public point of our PKCS#8 layout from the private scalar', () => {
    const key = generateKeyPair('ecdsa-p256');
    expect(p256PublicPointOf(key.pkcs8)?.equals(key.publicKeyBits)).toBe(true);
  });

  it('declines other layouts so the slow path decides', () => {
    const opensslKey = execFileSync('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-outform',
      'DER',
    ]);
    const layout = p256PublicPointOf(opensslKey);
    // openssl's layout may or may not match ours byte for byte; when it does, the point must be right.
    if (layout !== undefined) expect(layout).toHaveLength(65);
    expect(p256PublicPointOf(generateKeyPair('ed25519').pkcs8)).toBeUndefined();
    expect(p256PublicPointOf(Buffer.alloc(138))).toBeUndefined();
  });

  it('agrees with checkPrivateKey for matching and mismatched keys', () => {
    for (const alg of ['ecdsa-p256', 'ed25519'] as const) {
      const a = leaf(alg);
      const b = leaf(alg);
      const cert = new X509Certificate(
        a.certPem.slice(0, a.certPem.indexOf('-----END CERTIFICATE-----') + 25),
      );
      const bits = readCertificateInfo(cert.raw).publicKeyBits;
      expect(keyMatchProblem(cert, a.keyPem, bits), alg).toBeUndefined();
      expect(keyMatchProblem(cert, b.keyPem, bits)?.code, alg).toBe('key_mismatch');
      expect(keyMatchProblem(cert, b.keyPem)?.code, alg).toBe('key_mismatch');
    }
  });
});
