import { CA_FILE, CERT_FILE, KEY_FILE } from '../core/names.js';
import type { PodObject, SecretObject } from '../kube/types.js';
import type { CertificateAuthority } from '../pki/ca.js';
import { bundleContains, bundleFingerprints, mergeBundles, removeFromBundle } from '../pki/bundle.js';
import { podCertificatesRetired, type PreviousCaPods } from './previous-ca-pods.js';
import {
  BUNDLE_CHANGED_ANNOTATION,
  NEXT_CERT_FILE,
  NEXT_KEY_FILE,
  PREVIOUS_CERT_FILE,
  PREVIOUS_KEY_FILE,
  PROPAGATION_ANNOTATION,
  secretIssuedBy,
  secretTrusts,
} from './ca-secret.js';
import { isLive } from './pods.js';
import { encodeFiles, secretFile } from './secret-data.js';

/**
 * A rotation step's outcome: the CA Secret to write, or why the step is refused now. A `retryable` refusal
 * clears by itself (the rotator or the kubelets are still carrying the previous step out); `retryInSeconds`
 * when only time has to pass (`ca rotate status` shows it as the time left). A refusal's `secret`, when set,
 * must still be written: it records or clears the propagation mark (PROPAGATION_ANNOTATION).
 */
export type RotationPlan =
  | { readonly ok: true; readonly secret: SecretObject; readonly summary: string }
  | {
      readonly ok: false;
      readonly message: string;
      readonly retryable: boolean;
      readonly retryInSeconds?: number;
      readonly secret?: SecretObject;
    };

/** The steps that wait for the kubelets to deliver what the previous step changed. */
type GatedStep = 'activate' | 'retire';

/**
 * The kubelet writes a changed Secret into a running pod's volume only when it next syncs that pod: about
 * once a minute, with jitter (the kubelet's syncFrequency, 1m by default; gaps of 145 s were seen on the e2e
 * node). Nothing in the API shows when that happened, so a step that depends on it waits
 * `ca.propagationDelay` from the moment every managed Secret was seen ready.
 */
const DELIVERY_NOTE =
  "running pods get a changed Secret only at the kubelet's next sync of each pod (about a minute by default)";

/**
 * `ca rotate prepare`: keeps issuing from the current CA, stores the new root as next.crt/next.key and adds
 * it to the trust bundle, so every managed Secret's ca.crt learns it before any leaf is issued from it.
 */
export function planPrepare(caSecret: SecretObject, next: CertificateAuthority, now: Date): RotationPlan {
  if (secretFile(caSecret, NEXT_CERT_FILE) !== undefined) {
    return {
      ok: false,
      retryable: false,
      message: 'a rotation is already prepared (next.crt present); run `mtls-injector ca rotate activate`',
    };
  }
  if (secretFile(caSecret, PREVIOUS_CERT_FILE) !== undefined) {
    return {
      ok: false,
      retryable: false,
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
      mark: null,
    }),
    summary: 'new root added to the trust bundle; the rotator now copies it into every managed Secret',
  };
}

/**
 * `ca rotate activate`: switches issuance to the prepared CA. Refused until every managed Secret's ca.crt
 * (and every trust bundle podCertificate volumes mount) trusts the new root and then `propagationSeconds`
 * have passed, so every running pod has the new root in its files before any peer presents a leaf from it
 * (faults E8).
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
      retryable: false,
      message: 'no rotation is prepared (next.crt missing); run `mtls-injector ca rotate prepare` first',
    };
  }
  const lagging = managed.filter((s) => !secretTrusts(s, nextCert));
  if (lagging.length > 0) {
    return notYet(
      caSecret,
      `${lagging.length} managed Secret(s) do not trust the new root yet (e.g. ${names(lagging)}); wait for the rotator to refresh them and retry`,
    );
  }
  const stale = podCertificateBundles.filter((b) => !bundleTrusts(b.pem, nextCert));
  if (stale.length > 0) {
    return notYet(
      caSecret,
      `${stale.map((b) => b.what).join(', ')} does not trust the new root yet; wait for the rotator to publish it and retry`,
    );
  }
  const gate = propagationGate(caSecret, 'activate', now, propagationSeconds, 'trusts the new root');
  if (gate !== undefined) return gate;
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
      mark: null,
    }),
    summary: 'issuing from the new CA; the rotator reissues every managed certificate (rate-limited)',
  };
}

/**
 * `ca rotate retire`: drops the previous root from the trust bundle. Refused while any managed leaf was still
 * issued by the previous CA, and (when the rotator publishes the Pod Certificates record) while a pod may still
 * hold a pod certificate of it (src/model/previous-ca-pods.ts); then until `propagationSeconds` have passed,
 * so no running pod (the webhook's included: the API server trusts only the new root afterwards) still
 * presents an old leaf from its files.
 */
export function planRetire(
  caSecret: SecretObject,
  managed: readonly SecretObject[],
  now: Date,
  propagationSeconds: number,
  podCertificates?: { readonly record: PreviousCaPods | undefined },
): RotationPlan {
  const previous = secretFile(caSecret, PREVIOUS_CERT_FILE);
  if (previous === undefined) {
    return {
      ok: false,
      retryable: false,
      message: 'nothing to retire (previous.crt missing); retire follows `ca rotate activate`',
    };
  }
  const stale = managed.filter((s) => secretIssuedBy(s, previous));
  if (stale.length > 0) {
    return notYet(
      caSecret,
      `${stale.length} managed certificate(s) still chain to the previous CA (e.g. ${names(stale)}); wait for the rotator to reissue them and retry`,
    );
  }
  if (podCertificates !== undefined) {
    const retired = podCertificatesRetired(
      podCertificates.record,
      bundleFingerprints(previous)[0] ?? '',
      now,
    );
    if (!retired.ok) return notYet(caSecret, retired.message);
  }
  const gate = propagationGate(caSecret, 'retire', now, propagationSeconds, 'holds a leaf from the new CA');
  if (gate !== undefined) return gate;
  const bundle = secretFile(caSecret, CA_FILE) ?? '';
  return {
    ok: true,
    secret: update(caSecret, {
      data: { [CA_FILE]: removeFromBundle(bundle, previous) },
      remove: [PREVIOUS_CERT_FILE, PREVIOUS_KEY_FILE],
      bundleChangedAt: now,
      mark: null,
    }),
    summary: 'previous root removed from the trust bundle; the rotator refreshes every ca.crt',
  };
}

/**
 * The managed Secrets a rotation step waits for: those of pods that run or will run, and those owned by no
 * pod (the webhook's serving certificate). A finished pod (a completed Job's) or a deleted one keeps its Secret
 * until the garbage collector removes it, but the rotator no longer refreshes it and no process reads it; were
 * it counted, such Secrets would hold `activate` and `retire` back for good.
 */
export function secretsInUse(
  managed: readonly SecretObject[],
  managedPods: readonly PodObject[],
): SecretObject[] {
  const live = new Set(managedPods.filter(isLive).map((p) => p.metadata.uid));
  return managed.filter((s) => {
    const owners = (s.metadata.ownerReferences ?? []).filter((o) => o.kind === 'Pod');
    return owners.length === 0 || owners.some((o) => live.has(o.uid));
  });
}

/** When the propagation wait of `step` started, from the CA Secret's mark; undefined without one. */
export function propagationStartedAt(caSecret: SecretObject, step: GatedStep): Date | undefined {
  const [markStep, at] = (caSecret.metadata.annotations?.[PROPAGATION_ANNOTATION] ?? '').split(' ');
  if (markStep !== step || at === undefined || Number.isNaN(Date.parse(at))) return undefined;
  return new Date(at);
}

/** A retryable refusal; a stale propagation mark is cleared (a Secret fell behind after it was set). */
function notYet(caSecret: SecretObject, message: string): RotationPlan {
  const marked = caSecret.metadata.annotations?.[PROPAGATION_ANNOTATION] !== undefined;
  return {
    ok: false,
    retryable: true,
    message,
    ...(marked ? { secret: update(caSecret, { data: {}, mark: null }) } : {}),
  };
}

/**
 * Every managed Secret is ready for `step`. Undefined when the delivery wait is over; else the refusal that
 * starts it (recording the mark) or says how long is left.
 */
function propagationGate(
  caSecret: SecretObject,
  step: GatedStep,
  now: Date,
  propagationSeconds: number,
  ready: string,
): RotationPlan | undefined {
  if (propagationSeconds <= 0) return undefined;
  const started = propagationStartedAt(caSecret, step);
  const readyAt = new Date((started ?? now).getTime() + propagationSeconds * 1000);
  if (started !== undefined && now.getTime() >= readyAt.getTime()) return undefined;
  const wait = Math.ceil((readyAt.getTime() - now.getTime()) / 1000);
  const message =
    `every managed Secret ${ready}, but ${DELIVERY_NOTE}; ca.propagationDelay is ${propagationSeconds}s: ` +
    `retry in ${wait}s (after ${readyAt.toISOString()})`;
  if (started !== undefined) return { ok: false, retryable: true, message, retryInSeconds: wait };
  // This refusal starts the wait: written, the mark makes the step possible propagationSeconds from now.
  return {
    ok: false,
    retryable: true,
    message,
    retryInSeconds: wait,
    secret: update(caSecret, { data: {}, mark: `${step} ${now.toISOString()}` }),
  };
}

function update(
  secret: SecretObject,
  change: {
    data: Record<string, string>;
    remove?: readonly string[];
    bundleChangedAt?: Date;
    /** The propagation mark to set, or null to remove it. */
    mark?: string | null;
  },
): SecretObject {
  const data: Record<string, string> = { ...(secret.data ?? {}), ...encodeFiles(change.data) };
  for (const key of change.remove ?? []) delete data[key];
  const annotations = { ...(secret.metadata.annotations ?? {}) };
  if (change.bundleChangedAt !== undefined)
    annotations[BUNDLE_CHANGED_ANNOTATION] = change.bundleChangedAt.toISOString();
  if (change.mark === null) delete annotations[PROPAGATION_ANNOTATION];
  else if (change.mark !== undefined) annotations[PROPAGATION_ANNOTATION] = change.mark;
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
