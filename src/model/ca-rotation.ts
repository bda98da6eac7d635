import { CA_FILE, CERT_FILE, KEY_FILE } from '../core/names.js';
import type { SecretObject } from '../kube/types.js';
import type { CertificateAuthority } from '../pki/ca.js';
import { bundleContains, bundleFingerprints, mergeBundles, removeFromBundle } from '../pki/bundle.js';
import { podCertificatesRetired, type PreviousCaPods } from './previous-ca-pods.js';
import {
  BUNDLE_CHANGED_ANNOTATION,
  NEXT_CERT_FILE,
  NEXT_KEY_FILE,
  PREVIOUS_CERT_FILE,
  PREVIOUS_KEY_FILE,
  secretIssuedBy,
  secretTrusts,
} from './ca-secret.js';
import { encodeFiles, secretFile } from './secret-data.js';

/**
 * A rotation step's outcome: the CA Secret to write, or why the step is refused now; `retryInSeconds` when
 * only time has to pass (`ca rotate status` shows it as the time left).
 */
export type RotationPlan =
  | { readonly ok: true; readonly secret: SecretObject; readonly summary: string }
  | { readonly ok: false; readonly message: string; readonly retryInSeconds?: number };

/**
 * `ca rotate prepare`: keeps issuing from the current CA, stores the new root as next.crt/next.key and adds
 * it to the trust bundle, so every managed Secret's ca.crt learns it before any leaf is issued from it.
 */
export function planPrepare(caSecret: SecretObject, next: CertificateAuthority, now: Date): RotationPlan {
  if (secretFile(caSecret, NEXT_CERT_FILE) !== undefined) {
    return {
      ok: false,
      message: 'a rotation is already prepared (next.crt present); run `mtls-injector ca rotate activate`',
    };
  }
  if (secretFile(caSecret, PREVIOUS_CERT_FILE) !== undefined) {
    return {
      ok: false,
      message:
        'the previous rotation is not retired yet (previous.crt present); run `mtls-injector ca rotate retire` first',
    };
  }
  const bundle = secretFile(caSecret, CA_FILE) ?? '';
  return {
    ok: true,
    secret: update(caSecret, {
      data: {
        [NEXT_CERT_FILE]: next.certPem,
        [NEXT_KEY_FILE]: next.keyPem,
        [CA_FILE]: mergeBundles(bundle, next.certPem),
      },
      bundleChangedAt: now,
    }),
    summary: 'new root added to the trust bundle; the rotator now copies it into every managed Secret',
  };
}

/**
 * `ca rotate activate`: switches issuance to the prepared CA. Refused until every managed Secret's ca.crt
 * trusts the new root and `propagationSeconds` have passed since the bundle changed (kubelets refresh mounted
 * Secrets about once a minute), so no peer ever sees a leaf it cannot verify (faults E8).
 */
export function planActivate(
  caSecret: SecretObject,
  managed: readonly SecretObject[],
  now: Date,
  propagationSeconds: number,
  /** Trust bundles pods with podCertificate volumes mount (the signer's ClusterTrustBundle), by name. */
  podCertificateBundles: readonly { readonly what: string; readonly pem: string }[] = [],
): RotationPlan {
  const nextCert = secretFile(caSecret, NEXT_CERT_FILE);
  const nextKey = secretFile(caSecret, NEXT_KEY_FILE);
  if (nextCert === undefined || nextKey === undefined) {
    return {
      ok: false,
      message: 'no rotation is prepared (next.crt missing); run `mtls-injector ca rotate prepare` first',
    };
  }
  const lagging = managed.filter((s) => !secretTrusts(s, nextCert));
  if (lagging.length > 0) {
    return {
      ok: false,
      message: `${lagging.length} managed Secret(s) do not trust the new root yet (e.g. ${names(lagging)}); wait for the rotator to refresh them and retry`,
    };
  }
  const stale = podCertificateBundles.filter((b) => !bundleTrusts(b.pem, nextCert));
  if (stale.length > 0) {
    return {
      ok: false,
      message: `${stale.map((b) => b.what).join(', ')} does not trust the new root yet; wait for the rotator to publish it and retry`,
    };
  }
  const changed = Date.parse(caSecret.metadata.annotations?.[BUNDLE_CHANGED_ANNOTATION] ?? '');
  const readyAt = (Number.isNaN(changed) ? 0 : changed) + propagationSeconds * 1000;
  if (Number.isNaN(changed) || now.getTime() < readyAt) {
    const wait = Number.isNaN(changed) ? propagationSeconds : Math.ceil((readyAt - now.getTime()) / 1000);
    return {
      ok: false,
      message: `the new trust bundle needs ${propagationSeconds}s to reach every kubelet; retry in ${wait}s (after ${new Date(readyAt).toISOString()})`,
      retryInSeconds: wait,
    };
  }
  const currentCert = secretFile(caSecret, CERT_FILE) ?? '';
  const currentKey = secretFile(caSecret, KEY_FILE) ?? '';
  return {
    ok: true,
    secret: update(caSecret, {
      data: {
        [CERT_FILE]: nextCert,
        [KEY_FILE]: nextKey,
        [PREVIOUS_CERT_FILE]: currentCert,
        [PREVIOUS_KEY_FILE]: currentKey,
      },
      remove: [NEXT_CERT_FILE, NEXT_KEY_FILE],
    }),
    summary: 'issuing from the new CA; the rotator reissues every managed certificate (rate-limited)',
  };
}

/**
 * `ca rotate retire`: drops the previous root from the trust bundle. Refused while any managed leaf was still
 * issued by the previous CA, and (when the rotator publishes the Pod Certificates record) while a pod may still
 * hold a pod certificate of it (src/model/previous-ca-pods.ts).
 */
export function planRetire(
  caSecret: SecretObject,
  managed: readonly SecretObject[],
  now: Date,
  podCertificates?: { readonly record: PreviousCaPods | undefined },
): RotationPlan {
  const previous = secretFile(caSecret, PREVIOUS_CERT_FILE);
  if (previous === undefined) {
    return {
      ok: false,
      message: 'nothing to retire (previous.crt missing); retire follows `ca rotate activate`',
    };
  }
  const stale = managed.filter((s) => secretIssuedBy(s, previous));
  if (stale.length > 0) {
    return {
      ok: false,
      message: `${stale.length} managed certificate(s) still chain to the previous CA (e.g. ${names(stale)}); wait for the rotator to reissue them and retry`,
    };
  }
  if (podCertificates !== undefined) {
    const retired = podCertificatesRetired(
      podCertificates.record,
      bundleFingerprints(previous)[0] ?? '',
      now,
    );
    if (!retired.ok) return retired;
  }
  const bundle = secretFile(caSecret, CA_FILE) ?? '';
  return {
    ok: true,
    secret: update(caSecret, {
      data: { [CA_FILE]: removeFromBundle(bundle, previous) },
      remove: [PREVIOUS_CERT_FILE, PREVIOUS_KEY_FILE],
      bundleChangedAt: now,
    }),
    summary: 'previous root removed from the trust bundle; the rotator refreshes every ca.crt',
  };
}

function update(
  secret: SecretObject,
  change: { data: Record<string, string>; remove?: readonly string[]; bundleChangedAt?: Date },
): SecretObject {
  const data: Record<string, string> = { ...(secret.data ?? {}), ...encodeFiles(change.data) };
  for (const key of change.remove ?? []) delete data[key];
  const annotations = { ...(secret.metadata.annotations ?? {}) };
  if (change.bundleChangedAt !== undefined)
    annotations[BUNDLE_CHANGED_ANNOTATION] = change.bundleChangedAt.toISOString();
  return { ...secret, metadata: { ...secret.metadata, annotations }, data };
}

function bundleTrusts(bundlePem: string, rootPem: string): boolean {
  try {
    return bundleContains(bundlePem, rootPem);
  } catch {
    return false;
  }
}

function names(secrets: readonly SecretObject[]): string {
  return secrets
    .slice(0, 3)
    .map((s) => `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`)
    .join(', ');
}
