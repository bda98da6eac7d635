import type { TimerHandle, Timers } from '../../src/rotator/time.js';

interface PendingTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

/** Lets promise callbacks and I/O callbacks queued so far run (twice, for chains of awaits). */
export async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock tests move by hand, with timers on it. `sleep` advances it instead of waiting; `advance` moves time
 * without firing timers; `tick` moves time and fires every timer that falls due, in order, letting the work
 * each one starts settle before the next.
 */
export class FakeClock implements Timers {
  private pending: PendingTimer[] = [];
  private seq = 0;

  constructor(public now = Date.parse('2026-11-23T00:00:00Z')) {}

  readonly read = (): number => this.now;

  readonly sleep = (ms: number): Promise<void> => {
    this.now += ms;
    return Promise.resolve();
  };

  advance(ms: number): void {
    this.now += ms;
  }

  readonly setTimeout = (callback: () => void, ms: number): TimerHandle => {
    const timer = { at: this.now + Math.max(0, ms), seq: this.seq++, callback };
    this.pending.push(timer);
    return timer;
  };

  readonly clearTimeout = (handle: TimerHandle | undefined): void => {
    this.pending = this.pending.filter((t) => t !== handle);
  };

  /** Timers waiting to fire. */
  get timers(): number {
    return this.pending.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and settling after each. */
  async tick(ms: number): Promise<void> {
    const end = this.now + ms;
    await settleMicrotasks();
    for (;;) {
      const next = [...this.pending].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined || next.at > end) break;
      this.pending = this.pending.filter((t) => t !== next);
      this.now = Math.max(this.now, next.at);
      next.callback();
      await settleMicrotasks();
    }
    this.now = end;
  }
}

/** A seeded pseudo-random source (mulberry32) so jitter is reproducible. */
export function seededRandom(seed = 42): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
