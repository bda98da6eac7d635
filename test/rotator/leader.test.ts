import { describe, expect, it } from 'vitest';
import { decideLease } from '../../src/rotator/leader-decision.js';
import { LeaderElector } from '../../src/rotator/leader.js';
import { FakeClock } from '../fakes/clock.js';
import { FakeLeaseApi } from '../fakes/kube.js';
import { memoryLog } from '../fakes/log.js';

function elector(api: FakeLeaseApi, clock: FakeClock, identity: string): LeaderElector {
  return new LeaderElector({
    api,
    namespace: 'mtls-injector',
    name: 'mtls-injector-rotator',
    identity,
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
    clock: clock.read,
    timers: clock,
    log: memoryLog(),
  });
}

describe('decideLease', () => {
  const now = Date.parse('2026-11-23T00:00:00Z');
  const held = (holder: string, renewedAgoMs: number) => ({
    metadata: { name: 'l' },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: 15,
      renewTime: new Date(now - renewedAgoMs).toISOString(),
    },
  });
  it('creates, renews, follows and takes over', () => {
    expect(decideLease(undefined, 'a', now).kind).toBe('create');
    expect(decideLease(held('a', 1000), 'a', now).kind).toBe('renew');
    expect(decideLease(held('b', 1000), 'a', now)).toEqual({
      kind: 'follow',
      holder: 'b',
      expiresAt: now + 14_000,
    });
    expect(decideLease(held('b', 16_000), 'a', now)).toEqual({ kind: 'acquire', previousHolder: 'b' });
    expect(decideLease(held('', 0), 'a', now).kind).toBe('acquire');
  });
});

describe('LeaderElector', () => {
  it('lets exactly one of two candidates lead, and the follower takes over after the leader dies', async () => {
    const api = new FakeLeaseApi();
    const clock = new FakeClock();
    const a = elector(api, clock, 'a');
    const b = elector(api, clock, 'b');
    expect(await a.tryOnce()).toBe(true);
    expect(await b.tryOnce()).toBe(false);
    clock.advance(2000);
    expect(await a.tryOnce()).toBe(true);
    expect(await b.tryOnce()).toBe(false);
    // a dies (stops renewing); after the lease duration b takes over.
    clock.advance(14_000);
    expect(await b.tryOnce()).toBe(false);
    clock.advance(2000);
    expect(await b.tryOnce()).toBe(true);
    expect(api.lease?.spec?.holderIdentity).toBe('b');
    expect(api.lease?.spec?.leaseTransitions).toBe(1);
    // a comes back: it reads b's lease and follows; its own stale write would conflict anyway.
    expect(await a.tryOnce()).toBe(false);
  });

  it('releases the lease on stop so a follower takes over at once', async () => {
    const api = new FakeLeaseApi();
    const clock = new FakeClock();
    const a = elector(api, clock, 'a');
    const b = elector(api, clock, 'b');
    await a.tryOnce();
    await a.stop();
    expect(a.isLeader()).toBe(false);
    expect(api.lease?.spec?.holderIdentity).toBe('');
    expect(await b.tryOnce()).toBe(true);
  });

  it('steps down when it cannot renew within the renew deadline (D7)', async () => {
    const api = new FakeLeaseApi();
    const clock = new FakeClock();
    const a = elector(api, clock, 'a');
    const changes: boolean[] = [];
    a.onChange((leading) => changes.push(leading));
    await a.tryOnce();
    api.unavailable = true;
    clock.advance(5000);
    expect(await a.tryOnce()).toBe(true);
    clock.advance(6000);
    expect(await a.tryOnce()).toBe(false);
    expect(changes).toEqual([true, false]);
  });
});
