import { describe, expect, it } from 'vitest';
import type { LeaseApi } from '../../src/kube/types.js';
import { decideLease, observe } from '../../src/rotator/leader-decision.js';
import { LeaderElector } from '../../src/rotator/leader.js';
import { FakeClock } from '../fakes/clock.js';
import { FakeLeaseApi } from '../fakes/kube.js';
import { memoryLog } from '../fakes/log.js';
import { Stallable } from '../fakes/stall.js';

function elector(
  api: LeaseApi,
  clock: FakeClock,
  identity: string,
  read: () => number = clock.read,
): LeaderElector {
  return new LeaderElector({
    api,
    namespace: 'mtls-injector',
    name: 'mtls-injector-rotator',
    identity,
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
    clock: read,
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
    const fresh = held('b', 1000);
    expect(decideLease(undefined, 'a', undefined, now).kind).toBe('create');
    expect(decideLease(held('a', 1000), 'a', undefined, now).kind).toBe('renew');
    expect(decideLease(fresh, 'a', observe(fresh, undefined, now), now)).toEqual({
      kind: 'follow',
      holder: 'b',
      expiresAt: now + 15_000,
    });
    expect(decideLease(held('', 0), 'a', undefined, now).kind).toBe('acquire');
  });

  it("measures expiry on the observer's clock, from when it first saw the record, never from renewTime", () => {
    // The holder's clock is 16 s behind: its renewTime looks expired to this candidate, but the record
    // changed just now, so it is being renewed.
    const skewed = held('b', 16_000);
    const seen = observe(skewed, undefined, now);
    expect(decideLease(skewed, 'a', seen, now).kind).toBe('follow');
    expect(decideLease(skewed, 'a', seen, now + 14_999).kind).toBe('follow');
    expect(decideLease(skewed, 'a', observe(skewed, seen, now + 15_000), now + 15_000)).toEqual({
      kind: 'acquire',
      previousHolder: 'b',
    });
    // The holder's clock runs ahead: a renewTime in the future does not keep a dead holder for longer.
    const ahead = held('b', -60_000);
    const seenAhead = observe(ahead, undefined, now);
    expect(decideLease(ahead, 'a', observe(ahead, seenAhead, now + 15_000), now + 15_000).kind).toBe(
      'acquire',
    );
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

  it("never leaves two leaders when the leader's API calls hang on a half-open connection (issue: two leaders)", async () => {
    const store = new FakeLeaseApi();
    const clock = new FakeClock();
    const link = new Stallable<LeaseApi>(store, clock);
    const a = elector(link.api, clock, 'a');
    const b = elector(store, clock, 'b');
    a.start();
    await clock.tick(1);
    b.start();
    await clock.tick(1);
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);

    link.stall();
    const lastRenew = Date.parse(String(store.lease?.spec?.renewTime));
    let bLeadsAt: number | undefined;
    for (let t = 0; t < 60_000; t += 250) {
      await clock.tick(250);
      expect(a.isLeader() && b.isLeader(), `both lead at +${t} ms`).toBe(false);
      if (bLeadsAt === undefined && b.isLeader()) bLeadsAt = clock.now;
      if (clock.now >= lastRenew + 10_000)
        expect(a.isLeader(), 'a stops at lastRenew + renewDeadline').toBe(false);
    }
    expect(bLeadsAt).toBeDefined();
    expect(bLeadsAt).toBeGreaterThanOrEqual(lastRenew + 15_000);

    // The connection recovers: a reads b's lease and follows; nothing it started while stalled lands late.
    const writesBefore = link.delivered.filter((d) => d.method !== 'get').length;
    link.resume();
    await clock.tick(10_000);
    expect(a.isLeader()).toBe(false);
    expect(b.isLeader()).toBe(true);
    expect(link.delivered.filter((d) => d.method !== 'get').length).toBe(writesBefore);
  });

  it("keeps one leader when the candidates' clocks disagree by more than the lease duration", async () => {
    const store = new FakeLeaseApi();
    const clock = new FakeClock();
    const a = elector(store, clock, 'a', () => clock.now - 30_000); // a's clock is 30 s behind
    const b = elector(store, clock, 'b');
    a.start();
    await clock.tick(1);
    b.start();
    for (let t = 0; t < 120_000; t += 500) {
      await clock.tick(500);
      expect(a.isLeader() && b.isLeader(), `both lead at +${t} ms`).toBe(false);
    }
    expect(a.isLeader()).toBe(true);
    await a.stop();
    await b.stop();
  });
});
