import { ErrorCode, InjectorError } from '../core/errors.js';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../core/names.js';
import type { SecretObject } from '../kube/types.js';
import { bundleContains } from '../pki/bundle.js';
import { type CertificateAuthority, loadCa } from '../pki/ca.js';
import { signedBy } from '../pki/x509.js';
import { encodeFiles, secretFile } from './secret-data.js';

/** Keys of the CA Secret beyond the kubernetes.io/tls three, used during a CA rotation: the prepared root, */
export const NEXT_CERT_FILE = 'next.crt';
/** its key, */
export const NEXT_KEY_FILE = 'next.key';
/** and the CA that issued before `ca rotate activate`, kept until `retire`, */
export const PREVIOUS_CERT_FILE = 'previous.crt';
/** with its key, so the rotator keeps signing that CA's CRL until `retire` (docs/revocation.md). */
export const PREVIOUS_KEY_FILE = 'previous.key';
/** When ca.crt (the trust bundle) last changed. */
export const BUNDLE_CHANGED_ANNOTATION = 'mtls-injector.io/bundle-changed-at';
/**
 * `<step> <ISO time>`: when `ca rotate <step>` first saw every managed Secret hold what the step waits for
 * (activate: the new root in ca.crt; retire: a leaf from the new CA). The step runs `ca.propagationDelay`
 * later, once the kubelets have had that long to deliver those Secrets to the running pods.
 */
export const PROPAGATION_ANNOTATION = 'mtls-injector.io/propagation-started-at';

/** What the CA Secret holds, parsed and checked. */
export interface CaMaterial {
  readonly active: CertificateAuthority;
  /** Every root workloads trust (ca.crt). */
  readonly bundlePem: string;
  /** Prepared by `ca rotate prepare`, not yet issuing. */
  readonly nextCertPem: string | undefined;
  /** The CA that issued before `ca rotate activate`, until `retire`. */
  readonly previousCertPem: string | undefined;
  /**
   * Every CA whose leaves peers may meet and whose key is here, each signing its own CRL: the active CA, the
   * prepared one (its leaves appear the moment it is activated, before every ca.crl is refreshed) and the
   * previous one (its leaves stay valid until their notAfter). A CA that does not load is left out.
   */
  readonly crlSigners: readonly CertificateAuthority[];
  readonly bundleChangedAt: Date | undefined;
  readonly resourceVersion: string | undefined;
}

/** The CA Secret for a newly generated root: type kubernetes.io/tls, ca.crt = the root. */
export function newCaSecret(
  ca: CertificateAuthority,
  namespace: string,
  name: string,
  now: Date,
): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: { 'app.kubernetes.io/name': 'mtls-injector', 'app.kubernetes.io/component': 'ca' },
      annotations: { [BUNDLE_CHANGED_ANNOTATION]: now.toISOString() },
    },
    type: 'kubernetes.io/tls',
    data: encodeFiles({
      [CERT_FILE]: ca.certPem + ca.chainPem,
      [KEY_FILE]: ca.keyPem,
      [CA_FILE]: ca.trustBundlePem,
    }),
  };
}

/**
 * Parses and checks the CA Secret (generated or bring-your-own). Refuses with the pki InjectorError codes
 * (expired, not yet valid, key mismatch, not a CA, no keyCertSign, broken chain: faults E2, E4, E5, E6), each
 * naming the Secret.
 */
export function readCaSecret(secret: SecretObject, now: Date): CaMaterial {
  const where = `CA Secret ${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}`;
  const certChainPem = secretFile(secret, CERT_FILE);
  const keyPem = secretFile(secret, KEY_FILE);
  if (certChainPem === undefined || keyPem === undefined) {
    throw new InjectorError(
      ErrorCode.PkiBadPem,
      `${where}: expected keys tls.crt (CA certificate and chain) and tls.key, got ${Object.keys(secret.data ?? {}).join(', ') || 'no data'}`,
    );
  }
  let active: CertificateAuthority;
  try {
    active = loadCa({ certChainPem, keyPem, bundlePem: secretFile(secret, CA_FILE), now });
  } catch (err) {
    if (err instanceof InjectorError)
      throw new InjectorError(err.code, `${where}: ${err.message}`, { cause: err });
    throw err;
  }
  const bundlePem = secretFile(secret, CA_FILE) ?? active.trustBundlePem;
  const changed = secret.metadata.annotations?.[BUNDLE_CHANGED_ANNOTATION];
  return {
    active,
    bundlePem: bundlePem.trim() === '' ? active.trustBundlePem : bundlePem,
    nextCertPem: secretFile(secret, NEXT_CERT_FILE),
    previousCertPem: secretFile(secret, PREVIOUS_CERT_FILE),
    crlSigners: [
      active,
      ...optionalCa(secret, NEXT_CERT_FILE, NEXT_KEY_FILE, bundlePem, now),
      ...optionalCa(secret, PREVIOUS_CERT_FILE, PREVIOUS_KEY_FILE, bundlePem, now),
    ],
    bundleChangedAt:
      changed === undefined || Number.isNaN(Date.parse(changed)) ? undefined : new Date(changed),
    resourceVersion: secret.metadata.resourceVersion,
  };
}

/** The CA in `certFile` and `keyFile` of the CA Secret, when both are there and it loads; else none. */
function optionalCa(
  secret: SecretObject,
  certFile: string,
  keyFile: string,
  bundlePem: string,
  now: Date,
): CertificateAuthority[] {
  const certChainPem = secretFile(secret, certFile);
  const keyPem = secretFile(secret, keyFile);
  if (certChainPem === undefined || keyPem === undefined) return [];
  try {
    return [loadCa({ certChainPem, keyPem, bundlePem, now })];
  } catch {
    return []; // expired or broken: its leaves cannot verify either, so no CRL is needed for them
  }
}

/** Whether a managed Secret's ca.crt trusts `rootPem` (by fingerprint); false when ca.crt does not parse. */
export function secretTrusts(secret: SecretObject, rootPem: string): boolean {
  const bundle = secretFile(secret, CA_FILE);
  if (bundle === undefined) return false;
  try {
    return bundleContains(bundle, rootPem);
  } catch {
    return false;
  }
}

/** Whether a managed Secret's leaf was issued by the CA certificate `caPem` (signature check). */
export function secretIssuedBy(secret: SecretObject, caPem: string): boolean {
  const chain = secretFile(secret, CERT_FILE);
  return chain !== undefined && signedBy(chain, caPem);
}
