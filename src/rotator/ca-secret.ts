import { X509Certificate } from 'node:crypto';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../core/names.js';
import type { SecretObject } from '../kube/types.js';
import { type CertificateAuthority, loadCa } from '../pki/ca.js';
import { splitPem, toPem } from '../pki/pem.js';
import { secretFile } from './secret-build.js';

/** Keys of the CA Secret beyond the kubernetes.io/tls three, used during a CA rotation. */
export const NEXT_CERT_FILE = 'next.crt';
export const NEXT_KEY_FILE = 'next.key';
export const PREVIOUS_CERT_FILE = 'previous.crt';
/** When ca.crt (the trust bundle) last changed; activation waits `ca.propagationDelay` after it. */
export const BUNDLE_CHANGED_ANNOTATION = 'mtls-injector.io/bundle-changed-at';

/** What the CA Secret holds, parsed and checked. */
export interface CaMaterial {
  readonly active: CertificateAuthority;
  /** Every root workloads trust (ca.crt). */
  readonly bundlePem: string;
  /** Prepared by `ca rotate prepare`, not yet issuing. */
  readonly nextCertPem: string | undefined;
  /** The CA that issued before `ca rotate activate`, until `retire`. */
  readonly previousCertPem: string | undefined;
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
    data: encode({
      [CERT_FILE]: ca.certPem + ca.chainPem,
      [KEY_FILE]: ca.keyPem,
      [CA_FILE]: ca.trustBundlePem,
    }),
  };
}

/**
 * Parses and checks the CA Secret (generated or bring-your-own). Refuses with the pki InjectorError codes
 * (expired, not yet valid, key mismatch, not a CA, no keyCertSign, broken chain: BAD-INPUTS E2–E6), each
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
    bundleChangedAt:
      changed === undefined || Number.isNaN(Date.parse(changed)) ? undefined : new Date(changed),
    resourceVersion: secret.metadata.resourceVersion,
  };
}

/** Fingerprints (SHA-256) of every certificate in a PEM bundle. */
export function fingerprints(bundlePem: string): Set<string> {
  return new Set(
    splitPem(bundlePem, 'trust bundle')
      .filter((b) => b.label === 'CERTIFICATE')
      .map((b) => new X509Certificate(b.der).fingerprint256),
  );
}

/** `bundle` with `certPem`'s certificate appended (once). */
export function withRoot(bundlePem: string, certPem: string): string {
  const cert = new X509Certificate(certPem);
  if (fingerprints(bundlePem).has(cert.fingerprint256)) return bundlePem;
  return normalise(bundlePem) + toPem('CERTIFICATE', cert.raw);
}

/** `bundle` without `certPem`'s certificate. */
export function withoutRoot(bundlePem: string, certPem: string): string {
  const drop = new X509Certificate(certPem).fingerprint256;
  return splitPem(bundlePem, 'trust bundle')
    .filter((b) => b.label === 'CERTIFICATE' && new X509Certificate(b.der).fingerprint256 !== drop)
    .map((b) => toPem('CERTIFICATE', b.der))
    .join('');
}

/** Whether a managed Secret's ca.crt trusts `rootPem`. */
export function secretTrusts(secret: SecretObject, rootPem: string): boolean {
  const bundle = secretFile(secret, CA_FILE);
  if (bundle === undefined) return false;
  try {
    return fingerprints(bundle).has(new X509Certificate(rootPem).fingerprint256);
  } catch {
    return false;
  }
}

/** Whether a managed Secret's leaf was issued by the CA certificate `caPem` (signature check). */
export function secretIssuedBy(secret: SecretObject, caPem: string): boolean {
  const chain = secretFile(secret, CERT_FILE);
  if (chain === undefined) return false;
  try {
    const [leaf] = splitPem(chain, 'tls.crt').filter((b) => b.label === 'CERTIFICATE');
    if (leaf === undefined) return false;
    const ca = new X509Certificate(caPem);
    return new X509Certificate(leaf.der).verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** base64 data from PEM text, dropping undefined entries. */
export function encode(files: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) if (v !== undefined) out[k] = Buffer.from(v).toString('base64');
  return out;
}

function normalise(pem: string): string {
  const trimmed = pem.trim();
  return trimmed === '' ? '' : `${trimmed}\n`;
}
