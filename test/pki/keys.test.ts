import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KEY_ALGORITHMS } from '../../src/core/key-algorithm.js';
import { generateKeyPair, privateKeyPem, signingKeyOf, subjectPublicKeyBits } from '../../src/pki/keys.js';
import { openssl } from './helpers.js';

describe('generateKeyPair', () => {
  it.each(KEY_ALGORITHMS)('%s: SPKI and PKCS#8 are one key pair that node and openssl read', (algorithm) => {
    const key = generateKeyPair(algorithm);
    const privateKey = createPrivateKey({ key: key.pkcs8, format: 'der', type: 'pkcs8' });
    const derivedSpki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    expect(key.spki.equals(derivedSpki)).toBe(true);
    expect(subjectPublicKeyBits(key.spki).equals(key.publicKeyBits)).toBe(true);
    const data = Buffer.from('hello');
    const digest = algorithm === 'ed25519' ? null : 'sha256';
    expect(
      verify(
        digest,
        data,
        createPublicKey({ key: key.spki, format: 'der', type: 'spki' }),
        sign(digest, data, signingKeyOf(key)),
      ),
    ).toBe(true);

    const pem = privateKeyPem(key);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const pubFromOpenssl = openssl(['pkey', '-pubout', '-outform', 'DER'], pem);
    expect(pubFromOpenssl.length).toBeGreaterThan(0);
    const text = openssl(['pkey', '-noout', '-text'], pem);
    const expected = {
      'ecdsa-p256': /Private-Key: \(256 bit\)[\s\S]*NIST CURVE: P-256/,
      'rsa-2048': /Private-Key: \(2048 bit, 2 primes\)/,
      'rsa-3072': /Private-Key: \(3072 bit, 2 primes\)/,
      ed25519: /ED25519 Private-Key/,
    }[algorithm];
    expect(text).toMatch(expected);
  });

  it('P-256 PKCS#8 matches what OpenSSL itself writes for the same key', () => {
    const key = generateKeyPair('ecdsa-p256');
    const reencoded = createPrivateKey({ key: key.pkcs8, format: 'der', type: 'pkcs8' }).export({
      type: 'pkcs8',
      format: 'der',
    });
    expect(key.pkcs8.equals(reencoded)).toBe(true);
    expect(key.pkcs8).toHaveLength(138);
    expect(key.spki).toHaveLength(91);
  });

  it('P-256 scalars with leading zero bytes are left-padded to 32 bytes', () => {
    // About 1 key in 256 has a leading zero byte, which ECDH.getPrivateKey() drops.
    let found = 0;
    for (let i = 0; i < 4000 && found < 3; i++) {
      const key = generateKeyPair('ecdsa-p256');
      if (key.pkcs8[36] !== 0) continue;
      found++;
      const reencoded = createPrivateKey({ key: key.pkcs8, format: 'der', type: 'pkcs8' }).export({
        type: 'pkcs8',
        format: 'der',
      });
      expect(key.pkcs8.equals(reencoded)).toBe(true);
      expect(
        createPublicKey(createPrivateKey({ key: key.pkcs8, format: 'der', type: 'pkcs8' }))
          .export({ type: 'spki', format: 'der' })
          .equals(key.spki),
      ).toBe(true);
    }
    expect(found).toBeGreaterThan(0);
  });

  it('keys are distinct and the private part stays out of JSON and inspect', () => {
    const a = generateKeyPair('ecdsa-p256');
    const b = generateKeyPair('ecdsa-p256');
    expect(a.spki.equals(b.spki)).toBe(false);
    expect(Object.keys(a)).not.toContain('pkcs8');
    expect(JSON.stringify(a)).not.toContain(a.pkcs8.toString('hex').slice(72, 100));
    expect(inspect(a, { depth: 5 })).not.toContain('pkcs8');
  });
});
