/**
 * One writer in the cluster: two assembled rotators share one in-memory API server, and the leader's
 * connection goes half-open (its calls neither answer nor fail, like a TCP connection whose peer vanished).
 * The leader must stop acting at lastRenew + renewDeadline whatever its calls do, the follower may take
 * over only after the lease has not changed for leaseDuration on its own clock, and nothing the old leader
 * started may reach the API server after that.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { settleMicrotasks } from '../fakes/clock.js';
import { managedPod } from './harness.js';
import { running, stopAll, world } from './world.js';

afterEach(stopAll);

describe('two rotators, the leader stalled', () => {
  it('never both lead or write, and nothing the stalled leader started lands after the takeover', async () => {
    const w = world();
    const a = await w.start('rotator-a');
    const b = await w.start('rotator-b');
    expect(a.isLeader()).toBe(true);
    w.cluster.pods.put(managedPod('web-0'));
    await settleMicrotasks();
    expect(w.secrets.objects.has('shop/web-0-mtls')).toBe(true);

    // a's connection goes half-open just as work arrives for it: a new pod and, soon, renewals.
    const writesBefore = w.link('rotator-a').writes().length;
    w.link('rotator-a').stall();
    w.cluster.pods.put(managedPod('web-1'));
    const stalledAt = w.clock.now;
    let aStoppedAt: number | undefined;
    let bLeadsAt: number | undefined;
    for (let t = 0; t < 60_000; t += 250) {
      await w.clock.tick(250);
      expect(a.isLeader() && b.isLeader(), `both lead ${t} ms after the stall`).toBe(false);
      if (aStoppedAt === undefined && !a.isLeader()) aStoppedAt = w.clock.now;
      if (bLeadsAt === undefined && b.isLeader()) bLeadsAt = w.clock.now;
    }
    // a stopped within renewDeadline (10 s) of its last renewal; b took over after leaseDuration (15 s).
    expect(aStoppedAt).toBeDefined();
    expect((aStoppedAt ?? 0) - stalledAt).toBeLessThanOrEqual(10_000);
    expect(bLeadsAt).toBeDefined();
    expect(bLeadsAt).toBeGreaterThan(aStoppedAt ?? Number.POSITIVE_INFINITY);
    expect(w.secrets.objects.has('shop/web-1-mtls')).toBe(true);

    // The connection recovers. Whatever a had started while it believed it led was abandoned at its
    // deadline; none of it reaches the API server now.
    w.link('rotator-a').resume();
    await w.clock.tick(30_000);
    expect(w.link('rotator-a').writes().slice(writesBefore)).toEqual([]);
    expect(a.isLeader()).toBe(false);
    expect(b.isLeader()).toBe(true);
    expect(w.leases.lease?.spec?.holderIdentity).toBe('rotator-b');
  });

  it('cancels automatic onboarding the moment the leader stops leading', async () => {
    const w = world();
    await w.start('rotator-a');
    await w.start('rotator-b');
    w.link('rotator-a').stall();
    await w.clock.tick(11_000);
    expect(w.cancelled).toEqual(['rotator-a']);
    expect(running).toHaveLength(2);
    w.link('rotator-a').resume();
  });
});
