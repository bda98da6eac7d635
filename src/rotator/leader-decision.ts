import type { LeaseObject } from '../kube/types.js';

/** What a candidate does with the lease it just read. */
export type LeaseAction =
  | { readonly kind: 'create' }
  | { readonly kind: 'renew' }
  | { readonly kind: 'acquire'; readonly previousHolder: string }
  | { readonly kind: 'follow'; readonly holder: string; readonly expiresAt: number };

/**
 * The lease record as this candidate last saw it change, and when by ITS OWN clock (client-go's
 * observedRecord/observedTime). Expiry is measured from `at`, never from the holder's `renewTime`: the two
 * clocks may disagree, and a follower whose clock runs ahead of the holder's would otherwise take a lease
 * that is being renewed.
 */
export interface LeaseObservation {
  /** Everything the holder rewrites on a renewal, as one string. */
  readonly record: string;
  /** Epoch ms on the observer's clock when `record` was first seen. */
  readonly at: number;
}

/** The record of a lease: holder, times, duration and transitions (what a renewal changes). */
function recordOf(lease: LeaseObject): string {
  const spec = lease.spec ?? {};
  return JSON.stringify([
    spec.holderIdentity ?? '',
    String(spec.renewTime ?? ''),
    String(spec.acquireTime ?? ''),
    spec.leaseDurationSeconds ?? 0,
    spec.leaseTransitions ?? 0,
  ]);
}

/**
 * What this candidate has observed after reading `lease` at `now` (its own clock): the same observation when
 * the record did not change since `previous`, else a new one stamped `now`.
 */
export function observe(
  lease: LeaseObject,
  previous: LeaseObservation | undefined,
  now: number,
): LeaseObservation {
  const record = recordOf(lease);
  return previous !== undefined && previous.record === record ? previous : { record, at: now };
}

/**
 * Decides from a Lease (or its absence) whether `identity` creates it, renews its own hold, takes over an
 * expired or released one, or follows the current holder. A lease held by another is expired only when its
 * record has not changed for `leaseDurationSeconds` since this candidate first saw it (`observation.at`, on
 * the candidate's clock). Pure: `now` is epoch ms on the same clock.
 */
export function decideLease(
  lease: LeaseObject | undefined,
  identity: string,
  observation: LeaseObservation | undefined,
  now: number,
): LeaseAction {
  if (lease === undefined) return { kind: 'create' };
  const holder = lease.spec?.holderIdentity ?? '';
  if (holder === identity) return { kind: 'renew' };
  if (holder === '') return { kind: 'acquire', previousHolder: holder };
  const seen = observation !== undefined && observation.record === recordOf(lease) ? observation.at : now;
  const expiresAt = seen + (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  if (now >= expiresAt) return { kind: 'acquire', previousHolder: holder };
  return { kind: 'follow', holder, expiresAt };
}

/** The Lease a candidate writes for `action` (create, renew or acquire). */
export function leaseFor(
  base: LeaseObject | undefined,
  action: LeaseAction,
  ref: {
    readonly namespace: string;
    readonly name: string;
    readonly identity: string;
    readonly durationSeconds: number;
  },
  now: number,
): LeaseObject {
  const stamp = microTime(now);
  const transitions = base?.spec?.leaseTransitions ?? 0;
  return {
    metadata: {
      ...(base?.metadata ?? {}),
      name: ref.name,
      namespace: ref.namespace,
    },
    spec: {
      holderIdentity: ref.identity,
      leaseDurationSeconds: ref.durationSeconds,
      acquireTime: action.kind === 'renew' ? (base?.spec?.acquireTime ?? stamp) : stamp,
      renewTime: stamp,
      leaseTransitions: action.kind === 'acquire' ? transitions + 1 : transitions,
    },
  };
}

/** The Lease written on graceful shutdown: holder cleared so a follower takes over at once. */
export function releasedLease(base: LeaseObject, now: number): LeaseObject {
  return {
    metadata: base.metadata,
    spec: { ...base.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now) },
  };
}

/** A MicroTime as the API server wants it: six fractional digits. */
function microTime(now: number): string {
  return new Date(now).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
