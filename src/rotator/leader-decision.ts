import type { LeaseObject } from '../kube/types.js';

/** What a candidate does with the lease it just read. */
export type LeaseAction =
  | { readonly kind: 'create' }
  | { readonly kind: 'renew' }
  | { readonly kind: 'acquire'; readonly previousHolder: string }
  | { readonly kind: 'follow'; readonly holder: string; readonly expiresAt: number };

/**
 * Decides from a Lease (or its absence) whether `identity` creates it, renews its own hold, takes over an
 * expired or released one, or follows the current holder. Pure: `now` is epoch ms.
 */
export function decideLease(lease: LeaseObject | undefined, identity: string, now: number): LeaseAction {
  if (lease === undefined) return { kind: 'create' };
  const holder = lease.spec?.holderIdentity ?? '';
  if (holder === identity) return { kind: 'renew' };
  const renewTime = toMillis(lease.spec?.renewTime) ?? toMillis(lease.spec?.acquireTime) ?? 0;
  const expiresAt = renewTime + (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  if (holder === '' || now >= expiresAt) return { kind: 'acquire', previousHolder: holder };
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
  const stamp = new Date(now).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
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
  const stamp = new Date(now).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  return {
    metadata: base.metadata,
    spec: { ...base.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: stamp },
  };
}

function toMillis(value: string | Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
