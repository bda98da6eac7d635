import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RenewalQueue } from '../../src/rotator/renewal-queue.js';
import { renewalTime } from '../../src/rotator/schedule.js';
import { backoffDelay } from '../../src/rotator/retry.js';
import { TokenBucket } from '../../src/rotator/token-bucket.js';
import { FakeClock, seededRandom } from '../fakes/clock.js';

const policy = { renewAt: 0.5, jitter: 0.1 };
const notBefore = new Date('2026-11-23T00:00:00Z');
const notAfter = new Date('2026-11-24T00:00:00Z');
const HOUR = 3_600_000;

describe('renewalTime', () => {
  it('renews at half the lifetime without jitter draw bias', () => {
    expect(renewalTime(notBefore, notAfter, policy, 0.5).toISOString()).toBe('2026-11-23T12:00:00.000Z');
  });

  it('stays within ±10 % of the lifetime for any draw', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
        const at = renewalTime(notBefore, notAfter, policy, r).getTime() - notBefore.getTime();
        return at >= 0.4 * 24 * HOUR - 1 && at <= 0.6 * 24 * HOUR + 1;
      }),
    );
  });

  it('spreads 10,000 certificates issued together across the window (F4)', () => {
    const random = seededRandom(7);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const offset = renewalTime(notBefore, notAfter, policy, random()).getTime() - notBefore.getTime();
      const bucket = Math.min(9, Math.floor(((offset - 0.4 * 24 * HOUR) / (0.2 * 24 * HOUR)) * 10));
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    // Uniform spread: each tenth of the window gets about 1,000; none more than 1,200.
    for (const count of buckets) {
      expect(count).toBeGreaterThan(800);
      expect(count).toBeLessThan(1200);
    }
  });
});

describe('RenewalQueue', () => {
  it('pops keys in due order and honours upsert and remove', () => {
    const q = new RenewalQueue();
    q.upsert('a', 30);
    q.upsert('b', 10);
    q.upsert('c', 20);
    q.upsert('a', 5);
    q.remove('c');
    expect(q.size).toBe(2);
    expect(q.peekDue()).toBe(5);
    expect(q.popDue(100)).toEqual(['a', 'b']);
    expect(q.size).toBe(0);
  });

  it('matches a sorted reference under random operations', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('up', 'rm'),
            fc.integer({ min: 0, max: 30 }),
            fc.integer({ min: 0, max: 1000 }),
          ),
        ),
        fc.integer({ min: 0, max: 1000 }),
        (ops, now) => {
          const q = new RenewalQueue();
          const ref = new Map<string, number>();
          for (const [op, k, due] of ops) {
            const key = `k${k}`;
            if (op === 'up') {
              q.upsert(key, due);
              ref.set(key, due);
            } else {
              q.remove(key);
              ref.delete(key);
            }
          }
          const popped = q.popDue(now);
          const expected = [...ref]
            .filter(([, d]) => d <= now)
            .map(([, d]) => d)
            .sort((a, b) => a - b);
          expect(popped.map((k) => ref.get(k))).toEqual(expected);
          expect(q.size).toBe(ref.size - expected.length);
        },
      ),
    );
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then spaces writes at the steady rate', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 3, clock.read);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    expect(bucket.reserve()).toBe(100);
    expect(bucket.reserve()).toBe(200);
    clock.advance(1000);
    expect(bucket.available()).toBeCloseTo(3);
  });

  it('caps 1,000 writes at rate × time + burst over a simulated minute', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(50, 100, clock.read);
    const start = clock.now;
    let lastAllowed = start;
    for (let i = 0; i < 1000; i++) lastAllowed = Math.max(lastAllowed, start + bucket.reserve());
    // 1,000 writes at 50/s with a burst of 100 need (1000 - 100) / 50 = 18 s.
    expect(lastAllowed - start).toBe(18_000);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially with full jitter and a cap', () => {
    expect(backoffDelay(0, 0)).toBe(250);
    expect(backoffDelay(0, 0.999)).toBeLessThan(500);
    expect(backoffDelay(3, 0)).toBe(2000);
    expect(backoffDelay(40, 0.999)).toBeLessThanOrEqual(60_000);
  });
});
