/**
 * Which pods may still hold a pod certificate of the previous CA during a CA rotation (docs/pod-certificates.md,
 * "CA rotation"). With podCertificate delivery the rotator cannot reissue: each kubelet refreshes on its own
 * schedule, and the API server deletes PodCertificateRequests 15 minutes after creation, so the requests do not
 * remember for long which CA signed a live leaf. When the rotator first issues from a newly activated CA it
 * records every live pod with a podCertificate volume of its signer; a pod leaves the record when the signer
 * signs for it with the new CA or the pod is gone. `ca rotate retire` waits until the record is empty, or until
 * every leaf the previous CA can have signed has expired (`until`). Pure.
 */
import type { ConfigMapObject } from '../kube/types.js';

/** The record, kept under PREVIOUS_CA_KEY in the delivery facts ConfigMap. */
export interface PreviousCaPods {
  /** SHA-256 fingerprint of the CA certificate that issued before `ca rotate activate`. */
  readonly previous: string;
  /** Fingerprint of the CA issuing since. */
  readonly active: string;
  /** When the rotator recorded the pods (RFC 3339). */
  readonly since: string;
  /** since + podCertificate.maxExpiration: no leaf of the previous CA lives past it. */
  readonly until: string;
  /** namespace → UIDs of pods that may still hold a leaf of the previous CA. */
  readonly pods: Readonly<Record<string, readonly string[]>>;
}

/** The ConfigMap key of the record. */
export const PREVIOUS_CA_KEY = 'previous-ca-pods.json';

/** The record in a ConfigMap, or undefined when there is none (or it does not parse: then it is rebuilt). */
export function readPreviousCaPods(configMap: ConfigMapObject | undefined): PreviousCaPods | undefined {
  const text = configMap?.data?.[PREVIOUS_CA_KEY];
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<PreviousCaPods>;
    if (
      typeof value.previous !== 'string' ||
      typeof value.active !== 'string' ||
      typeof value.since !== 'string' ||
      typeof value.until !== 'string' ||
      value.pods === null ||
      typeof value.pods !== 'object'
    )
      return undefined;
    const pods: Record<string, string[]> = {};
    for (const [ns, uids] of Object.entries(value.pods))
      if (Array.isArray(uids)) pods[ns] = uids.filter((u): u is string => typeof u === 'string');
    return { previous: value.previous, active: value.active, since: value.since, until: value.until, pods };
  } catch {
    return undefined;
  }
}

/** The record as stored: namespaces and UIDs sorted, empty namespaces dropped (stable bytes). */
export function encodePreviousCaPods(record: PreviousCaPods): string {
  const pods: Record<string, string[]> = {};
  for (const ns of Object.keys(record.pods).sort()) {
    const uids = [...new Set(record.pods[ns] ?? [])].sort();
    if (uids.length > 0) pods[ns] = uids;
  }
  return JSON.stringify({
    previous: record.previous,
    active: record.active,
    since: record.since,
    until: record.until,
    pods,
  });
}

/** How many pods the record still holds. */
export function pendingPods(record: PreviousCaPods): number {
  return Object.values(record.pods).reduce((n, uids) => n + uids.length, 0);
}

/** The record without the pods `keep` rejects. */
export function prunePreviousCaPods(
  record: PreviousCaPods,
  keep: (namespace: string, uid: string) => boolean,
): PreviousCaPods {
  const pods: Record<string, string[]> = {};
  for (const [ns, uids] of Object.entries(record.pods)) pods[ns] = uids.filter((uid) => keep(ns, uid));
  return { ...record, pods };
}

/**
 * Whether `ca rotate retire` may drop the previous root as far as pod certificates go, or why not. `record`
 * undefined: the rotator has not recorded yet (it does within seconds of the activation, while leading).
 */
export function podCertificatesRetired(
  record: PreviousCaPods | undefined,
  previousFingerprint: string,
  now: Date,
): { readonly ok: true } | { readonly ok: false; readonly message: string } {
  if (record === undefined || record.previous !== previousFingerprint) {
    return {
      ok: false,
      message:
        'the rotator has not yet recorded which pods hold pod certificates of the previous CA (it does while leading, right after the activation); retry in a minute',
    };
  }
  const pending = pendingPods(record);
  if (pending === 0 || now.getTime() >= Date.parse(record.until)) return { ok: true };
  const examples = Object.entries(record.pods)
    .flatMap(([ns, uids]) => uids.map((uid) => `${ns}/${uid}`))
    .slice(0, 3)
    .join(', ');
  return {
    ok: false,
    message: `${pending} pod(s) may still hold a pod certificate of the previous CA (pod UIDs ${examples}); their kubelets refresh them on their own, at the latest by ${record.until}; restart those pods to retire sooner, then retry`,
  };
}
