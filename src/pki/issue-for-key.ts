/**
 * Issuance for a key the product never holds: the kubelet made the key pair and sent only the public key (a
 * PodCertificateRequest). The certificate is the same X509-SVID issueLeaf writes (docs/pki.md); only the key
 * and the exact validity come from outside.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';
import type { CertificateAuthority } from './ca.js';
import type { SubjectPublicKey } from './csr.js';
import { checkNames, signLeaf } from './issue.js';

/** What to certify: the identity, the subject's public key and the validity (whole seconds, inside the CA's). */
export interface LeafForKeyOptions {
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly publicKey: SubjectPublicKey;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A leaf for someone else's key: no private key here. */
export interface LeafForKey {
  /** The leaf, then the CA chain (never the root). */
  readonly certPem: string;
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * Signs an X509-SVID for `publicKey` with `ca`, valid exactly from notBefore to notAfter. Throws
 * MTLS_ERR_IDENTITY_INVALID_NAME for bad names and MTLS_ERR_USAGE_INVALID when the validity is not whole seconds
 * inside the CA's validity or is empty.
 */
export function issueLeafForKey(ca: CertificateAuthority, options: LeafForKeyOptions): LeafForKey {
  checkNames(options.spiffeId, options.dnsNames);
  const notBefore = options.notBefore.getTime();
  const notAfter = options.notAfter.getTime();
  if (notBefore % 1000 !== 0 || notAfter % 1000 !== 0 || notAfter <= notBefore) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `leaf: expected a validity of whole seconds with notBefore < notAfter, got ${options.notBefore.toISOString()} – ${options.notAfter.toISOString()}`,
    );
  }
  if (notBefore < ca.notBefore.getTime() || notAfter > ca.notAfter.getTime()) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `leaf: validity ${options.notBefore.toISOString()} – ${options.notAfter.toISOString()} is outside the CA's ` +
        `${ca.notBefore.toISOString()} – ${ca.notAfter.toISOString()}`,
    );
  }
  const { certPem, serialHex } = signLeaf(ca, {
    spiffeId: options.spiffeId,
    dnsNames: options.dnsNames,
    spki: options.publicKey.spki,
    publicKeyBits: options.publicKey.publicKeyBits,
    rsa: options.publicKey.keyType === 'RSA3072' || options.publicKey.keyType === 'RSA4096',
    notBefore: notBefore / 1000,
    notAfter: notAfter / 1000,
  });
  return { certPem, serialHex, notBefore: options.notBefore, notAfter: options.notAfter };
}
