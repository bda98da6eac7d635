/**
 * Whether a private key belongs to a certificate. Our own P-256 keys take a fast path (the public point is
 * derived from the private scalar, ~40 µs, instead of OpenSSL parsing the PKCS#8 PEM, ~1.5 ms); every other key
 * goes through node:crypto.
 */
import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { isInjectorError } from '../core/errors.js';
import { p256PublicPointOf } from './keys.js';
import { splitPem } from './pem.js';
import type { VerifyProblem } from './verify.js';

/**
 * undefined when `keyPem` is the private key of `cert` (or of the certificate `cert()` builds, only when the
 * fast path does not apply); otherwise why not. `publicKeyBits` (the cert's
 * subjectPublicKey, when the caller has parsed it) enables the fast path for our own P-256 keys: the public
 * point derived from the private scalar must equal the certificate's.
 */
export function keyMatchProblem(
  cert: X509Certificate | (() => X509Certificate),
  keyPem: string,
  publicKeyBits?: Buffer,
): VerifyProblem | undefined {
  let key: KeyObject;
  try {
    const block = splitPem(keyPem, 'private key (tls.key)').find((b) => b.label.endsWith('PRIVATE KEY'));
    if (block === undefined || block.label === 'ENCRYPTED PRIVATE KEY') {
      return { code: 'bad_key', message: 'private key (tls.key): expected an unencrypted PRIVATE KEY block' };
    }
    const point =
      publicKeyBits === undefined || block.label !== 'PRIVATE KEY' ? undefined : p256PublicPointOf(block.der);
    if (point !== undefined) {
      return point.equals(publicKeyBits as Buffer)
        ? undefined
        : { code: 'key_mismatch', message: 'private key (tls.key) does not match the certificate (tls.crt)' };
    }
    key = createPrivateKey({ key: keyPem, format: 'pem' });
  } catch (err) {
    return {
      code: 'bad_key',
      message: `private key (tls.key): cannot be parsed${isInjectorError(err) ? ` (${err.message})` : ''}`,
    };
  }
  let matches = false;
  try {
    matches = (typeof cert === 'function' ? cert() : cert).checkPrivateKey(key);
  } catch {
    matches = false;
  }
  return matches
    ? undefined
    : { code: 'key_mismatch', message: 'private key (tls.key) does not match the certificate (tls.crt)' };
}
