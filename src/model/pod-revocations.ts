/**
 * Pod revocations in the revocation record (docs/revocation.md, "Pods with pod certificates"): a pod whose
 * key the kubelet keeps (podCertificate delivery) cannot be given a new certificate by the product, so revoking
 * it means more than listing serials: the leader evicts the pod (its controller replaces it with a new key) and
 * the signer denies every later PodCertificateRequest naming its UID. One entry per pod, kept until `until`
 * (revokedAt plus podCertificate.maxExpiration: no certificate the pod held can be valid after it). Pure.
 */
import { isRevocationReason, type RevocationReason } from '../core/revocation.js';

/** One revoked pod (podCertificate delivery). */
export interface PodRevocation {
  /** `namespace/name`. */
  readonly pod: string;
  /** The pod's UID: what the signer denies and the eviction's precondition. */
  readonly uid: string;
  /** The SPIFFE ID the pod had. */
  readonly identity: string | null;
  readonly reason: RevocationReason;
  /** ISO 8601. */
  readonly revokedAt: string;
  /** ISO 8601: revokedAt plus the longest pod certificate lifetime; the entry is dropped after it. */
  readonly until: string;
  readonly by: string;
  readonly target: string;
}

/** Pod entries stay this long past `until`, like serial entries past notAfter. */
const GRACE_MS = 300_000;

/** Whether the entry has served its time at `now`. */
export function isExpiredPodRevocation(entry: PodRevocation, now: Date): boolean {
  return Date.parse(entry.until) + GRACE_MS < now.getTime();
}

/** The live pod entry for `uid`, if any. */
export function findPodRevocation(
  pods: readonly PodRevocation[],
  uid: string,
  now: Date,
): PodRevocation | undefined {
  return pods.find((p) => p.uid === uid && !isExpiredPodRevocation(p, now));
}

/** Merges `fresh` pod entries into `live` ones: a UID already revoked is kept as it was. */
export function mergePodRevocations(
  live: readonly PodRevocation[],
  fresh: readonly PodRevocation[],
): { readonly pods: readonly PodRevocation[]; readonly added: readonly PodRevocation[] } {
  const seen = new Set(live.map((p) => p.uid));
  const added = fresh.filter((p) => {
    if (seen.has(p.uid)) return false;
    seen.add(p.uid);
    return true;
  });
  return { pods: [...live, ...added], added };
}

/** Reads one pod entry, or throws `invalid(detail)`. */
export function readPodRevocation(raw: unknown, invalid: (detail: string) => Error): PodRevocation {
  if (typeof raw !== 'object' || raw === null) throw invalid('expected an object');
  const r = raw as Record<string, unknown>;
  const text = (key: string): string => {
    const value = r[key];
    if (typeof value !== 'string' || value === '') throw invalid(`expected "${key}" to be a string`);
    return value;
  };
  const pod = text('pod');
  if (!/^[^/]+\/[^/]+$/.test(pod)) throw invalid(`pod ${JSON.stringify(pod)} is not NAMESPACE/NAME`);
  const reason = text('reason');
  if (!isRevocationReason(reason)) throw invalid(`reason ${JSON.stringify(reason)} is not known`);
  for (const key of ['revokedAt', 'until']) {
    if (Number.isNaN(Date.parse(text(key)))) throw invalid(`"${key}" is not a date`);
  }
  const identity = r['identity'];
  if (identity !== null && identity !== undefined && typeof identity !== 'string')
    throw invalid('expected "identity" to be a string or null');
  return {
    pod,
    uid: text('uid'),
    identity: typeof identity === 'string' ? identity : null,
    reason,
    revokedAt: text('revokedAt'),
    until: text('until'),
    by: text('by'),
    target: text('target'),
  };
}
