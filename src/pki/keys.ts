/**
 * Key generation for leaves and CAs. Encodings are built from one cheap export plus fixed DER headers: in this
 * OpenSSL, KeyObject SPKI/PKCS#8 exports cost more than the signature itself (docs/design.md, "Platform notes").
 * Never export keys as JWK: it deadlocked Node 20 after ~14k keys.
 */
import { createECDH, createPrivateKey, type ECDH, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ErrorCode, InjectorError } from '../core/errors.js';
import type { KeyAlgorithm } from '../core/key-algorithm.js';
import { childrenOf, readNode, Tag } from './der.js';
import { toPem } from './pem.js';

/**
 * A freshly generated key pair in the encodings issuance needs. `pkcs8` is secret and non-enumerable, so it
 * stays out of JSON.stringify and util.inspect output.
 */
export interface KeyMaterial {
  readonly algorithm: KeyAlgorithm;
  /** SubjectPublicKeyInfo DER, copied verbatim into certificates. */
  readonly spki: Buffer;
  /** The subjectPublicKey BIT STRING content (no unused-bits byte): its SHA-1 is the SubjectKeyIdentifier. */
  readonly publicKeyBits: Buffer;
  /** PKCS#8 PrivateKeyInfo DER (secret). */
  readonly pkcs8: Buffer;
}

/** SPKI header for an uncompressed P-256 point (id-ecPublicKey, prime256v1, BIT STRING of 66 bytes). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
/** PKCS#8 header up to the 32-byte private scalar, as OpenSSL writes it (ECPrivateKey v1, no inner params). */
const P256_PKCS8_PREFIX = Buffer.from(
  '308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420',
  'hex',
);
/**
 * The public point of a P-256 key in the PKCS#8 layout this module writes, derived from its private scalar
 * (one scalar multiplication, ~13 µs), or undefined for any other layout. Parsing a PKCS#8 PEM with
 * createPrivateKey costs ~1.5 ms in OpenSSL 3.0, which made checking 10,000 Secrets take ~25 s of CPU.
 */
export function p256PublicPointOf(pkcs8: Buffer): Buffer | undefined {
  if (pkcs8.length !== P256_PKCS8_PREFIX.length + 32 + P256_PKCS8_PUBLIC.length + 65) return undefined;
  if (!pkcs8.subarray(0, P256_PKCS8_PREFIX.length).equals(P256_PKCS8_PREFIX)) return undefined;
  // One ECDH object for every derivation: creating one costs about as much as the multiplication itself.
  // setPrivateKey replaces the key it holds, and nothing else reads it.
  derivingEcdh ??= createECDH('prime256v1');
  try {
    derivingEcdh.setPrivateKey(pkcs8.subarray(P256_PKCS8_PREFIX.length, P256_PKCS8_PREFIX.length + 32));
  } catch {
    return undefined;
  }
  return derivingEcdh.getPublicKey();
}

let derivingEcdh: ECDH | undefined;

/** Between the scalar and the public point: `[1] { BIT STRING (0 unused bits) }`. */
const P256_PKCS8_PUBLIC = Buffer.from('a144034200', 'hex');

let sharedEcdh: ECDH | undefined;

/**
 * Builds KeyMaterial from its parts; `pkcs8` is attached non-enumerable. Used by generators and the key pool.
 */
export function keyMaterial(
  algorithm: KeyAlgorithm,
  spki: Buffer,
  pkcs8: Buffer,
  publicKeyBits: Buffer = subjectPublicKeyBits(spki),
): KeyMaterial {
  const material = { algorithm, spki, publicKeyBits } as {
    -readonly [K in keyof KeyMaterial]: KeyMaterial[K];
  };
  Object.defineProperty(material, 'pkcs8', { value: pkcs8, enumerable: false });
  return material;
}

/**
 * Generates a key pair synchronously on the calling thread. ECDSA P-256 (~20 µs) and Ed25519 (~200 µs) are
 * cheap enough to generate inline; RSA takes 50–500 ms, so issuance paths take RSA keys from `createKeyPool`.
 */
export function generateKeyPair(algorithm: KeyAlgorithm): KeyMaterial {
  switch (algorithm) {
    case 'ecdsa-p256':
      return generateP256();
    case 'ed25519': {
      // No raw export exists in Node 20 besides JWK (forbidden); one PKCS#8 and one SPKI export it is.
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const spki = publicKey.export({ type: 'spki', format: 'der' });
      const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
      return keyMaterial('ed25519', spki, pkcs8, spki.subarray(12));
    }
    case 'rsa-2048':
    case 'rsa-3072':
      return generateRsa(algorithm);
  }
}

/** RSA key pair in DER encodings (synchronous: blocks the calling thread for 50–500 ms). */
function generateRsa(algorithm: 'rsa-2048' | 'rsa-3072'): KeyMaterial {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: algorithm === 'rsa-2048' ? 2048 : 3072,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return keyMaterial(algorithm, publicKey, privateKey);
}

/**
 * P-256 through the ECDH API: one EC_KEY generation plus two raw reads, then both encodings by prefixing fixed
 * headers. Reusing one ECDH object is safe: each generateKeys() draws a new private scalar.
 */
function generateP256(): KeyMaterial {
  sharedEcdh ??= createECDH('prime256v1');
  const point = sharedEcdh.generateKeys();
  let scalar = sharedEcdh.getPrivateKey();
  if (scalar.length < 32) {
    // getPrivateKey() drops leading zero bytes (1 key in 256); ECPrivateKey wants exactly 32.
    const padded = Buffer.alloc(32);
    scalar.copy(padded, 32 - scalar.length);
    scalar = padded;
  }
  const spki = Buffer.allocUnsafe(P256_SPKI_PREFIX.length + 65);
  P256_SPKI_PREFIX.copy(spki, 0);
  point.copy(spki, P256_SPKI_PREFIX.length);
  const pkcs8 = Buffer.allocUnsafe(138);
  P256_PKCS8_PREFIX.copy(pkcs8, 0);
  scalar.copy(pkcs8, 36);
  P256_PKCS8_PUBLIC.copy(pkcs8, 68);
  point.copy(pkcs8, 73);
  scalar.fill(0);
  return keyMaterial('ecdsa-p256', spki, pkcs8, point);
}

/** The subjectPublicKey bits of an SPKI (the BIT STRING content after its unused-bits byte). */
export function subjectPublicKeyBits(spki: Buffer): Buffer {
  const [, bits] = childrenOf(readNode(spki));
  if (bits?.tag !== Tag.BitString) {
    throw new InjectorError(ErrorCode.PkiEncoding, 'SubjectPublicKeyInfo: expected a BIT STRING public key');
  }
  return spki.subarray(bits.start + 1, bits.end);
}

/** The PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) of a key: what `tls.key` holds. */
export function privateKeyPem(key: KeyMaterial): string {
  return toPem('PRIVATE KEY', key.pkcs8);
}

/** A signing KeyObject for a key (parses the PKCS#8; costs ~0.1–0.5 ms, so CAs call it once). */
export function signingKeyOf(key: KeyMaterial): KeyObject {
  return createPrivateKey({ key: key.pkcs8, format: 'der', type: 'pkcs8' });
}
