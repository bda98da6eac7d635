/**
 * The seal of an issued identity: an HMAC-SHA256, keyed by a secret derived from the issuing CA's private key,
 * over the exact tls.crt and tls.key the rotator wrote. A seal that verifies under the active CA proves the pair
 * is one this CA issued and the rotator wrote (signature, key match and SVID shape all hold by construction),
 * so judging the Secret needs no signature check and no key derivation (docs/pki.md, "Sealed Secrets").
 * Nobody without the CA key can make one; a seal is not a secret and reveals nothing of the key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Label of the derivation; a new version of the sealed layout gets a new label. */
const SEAL_LABEL = 'mtls-injector.io/seal v1';

/** The seal key of the CA whose private key PEM is `caKeyPem`; callers keep it per CA (one HMAC to derive). */
export function sealKeyOf(caKeyPem: string): Buffer {
  return createHmac('sha256', caKeyPem).update(SEAL_LABEL).digest();
}

/** The seal (base64url) of `certPem` and `keyPem` under `sealKey`. */
export function sealOf(sealKey: Buffer, certPem: string, keyPem: string): string {
  return digestOf(sealKey, certPem, keyPem).toString('base64url');
}

/** Whether `seal` is the seal of exactly `certPem` and `keyPem` under `sealKey` (compared in constant time). */
export function sealMatches(sealKey: Buffer, seal: string, certPem: string, keyPem: string): boolean {
  const given = Buffer.from(seal, 'base64url');
  const expected = digestOf(sealKey, certPem, keyPem);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function digestOf(sealKey: Buffer, certPem: string, keyPem: string): Buffer {
  // length-prefixed, so no two (cert, key) pairs hash the same bytes
  return createHmac('sha256', sealKey)
    .update(`${Buffer.byteLength(certPem)}:`)
    .update(certPem)
    .update(`${Buffer.byteLength(keyPem)}:`)
    .update(keyPem)
    .digest();
}
