/**
 * Pod Certificates (KEP-4317) names the product shares with the kubelet and the API server: the key types a
 * `podCertificate` projection may ask for, the ones this signer signs, and the condition types and reasons it
 * writes on a PodCertificateRequest. Changing a value here is a breaking change (docs/pod-certificates.md).
 */

/** Every keyType a podCertificate projection may name (k8s.io/api core/v1 PodCertificateProjection). */
export const POD_CERTIFICATE_KEY_TYPES = [
  'RSA3072',
  'RSA4096',
  'ECDSAP256',
  'ECDSAP384',
  'ECDSAP521',
  'ED25519',
] as const;
export type PodCertificateKeyType = (typeof POD_CERTIFICATE_KEY_TYPES)[number];

/** The key types this signer signs: the product's key algorithms that the API allows (no RSA-2048 there). */
export const SIGNED_KEY_TYPES = ['ECDSAP256', 'RSA3072', 'ED25519'] as const;
export type SignedKeyType = (typeof SIGNED_KEY_TYPES)[number];

/** Whether the signer signs `keyType`. */
export function isSignedKeyType(keyType: string): keyType is SignedKeyType {
  return (SIGNED_KEY_TYPES as readonly string[]).includes(keyType);
}

/** The terminal condition types of a PodCertificateRequest: at most one, status "True", then immutable. */
export const PCR_ISSUED = 'Issued';
export const PCR_DENIED = 'Denied';
export const PCR_FAILED = 'Failed';

/**
 * Reasons on a `Denied` condition (and the Event the kubelet and the rotator record on the pod). The first two
 * are the ones Kubernetes defines; the rest are this signer's.
 */
export const DENIAL_REASONS = {
  UnsupportedKeyType: `the key type is not one this signer signs (${SIGNED_KEY_TYPES.join(', ')})`,
  InvalidUnverifiedUserAnnotations: 'the request carries userAnnotations; this signer recognises none',
  InvalidRequest: 'the stub PKCS#10 request carries no usable public key',
  NamespaceNotOptedIn: 'neither the namespace (mtls-injection=enabled|strict) nor the pod opts in',
  PodNotFound: 'no pod of that name exists in the namespace',
  PodUIDMismatch: 'the pod of that name has another UID',
  ServiceAccountMismatch: 'the pod runs as another service account',
  NodeMismatch: 'the pod is bound to another node',
  InvalidIdentity: 'the namespace or service account cannot form a SPIFFE ID',
  PodRevoked: 'the pod was revoked (mtls-injector revoke): it gets no new certificate and is evicted',
} as const;
export type DenialReason = keyof typeof DENIAL_REASONS;

/** Reasons on a `Failed` condition: the request was fine, the signer could not sign it. */
export const FAILURE_REASONS = {
  CAExpiresTooSoon: 'the issuing CA expires in less than the 1 h minimum lifetime of a pod certificate',
} as const;
export type FailureReason = keyof typeof FAILURE_REASONS;

/**
 * The ClusterTrustBundle the rotator publishes for its signer. The API server requires a signer's bundles to
 * be named with the signer name as prefix, `/` turned into `:` (e.g. `mtls-injector.io:spiffe:trust-bundle`).
 */
export function clusterTrustBundleName(signerName: string): string {
  return `${signerName.replace(/\//g, ':')}:trust-bundle`;
}

/** Label on the ConfigMaps the rotator keeps (trust bundles, delivery facts): they are ours to overwrite. */
export const MANAGED_CONFIGMAP_LABEL = 'mtls-injector.io/managed';
