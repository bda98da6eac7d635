import { RenewalQueue } from './renewal-queue.js';

/**
 * A first-in first-out list with O(1) push and shift. `Array.prototype.shift` moves every element once the
 * array's store is too large to be trimmed in place (V8's large-object space, past ~30,000 entries), which
 * made draining n items cost O(n²): the superlinear startup of the rotator at 50,000+ pods.
 */
class Fifo {
  private items: (string | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: string): void {
    this.items.push(item);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    // Drop the consumed prefix once it is most of the store: amortized O(1) per item.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/**
 * A keyed work queue with client-go semantics: a key is queued at most once, never processed by two workers
 * at a time (re-adding it while it runs queues it again after), and failed keys come back after a delay.
 * Two lanes: keys added `first` (a new pod waiting for its first Secret, whose start is held until it
 * exists) are taken before the rest (renewals, re-checks after a trust change), so a mass renewal never
 * delays a pod's start.
 */
export class WorkQueue {
  private readonly ready = new Fifo();
  private readonly first = new Fifo();
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  /** Keys in the first lane, and keys to re-queue there once done. */
  private readonly queuedFirst = new Set<string>();
  private readonly dirtyFirst = new Set<string>();
  private readonly delayed = new RenewalQueue();
  private readonly attempts = new Map<string, number>();

  /** Keys waiting to run now. */
  get depth(): number {
    return this.queued.size;
  }

  /** Keys waiting for a retry time. */
  get delayedDepth(): number {
    return this.delayed.size;
  }

  /**
   * Queues `key` to run now; with `first`, ahead of every key added without it (a key already waiting in
   * the other lane moves up). A key added while it runs is queued again once it is done.
   */
  add(key: string, first = false): void {
    if (this.running.has(key)) {
      this.dirty.add(key);
      if (first) this.dirtyFirst.add(key);
      return;
    }
    if (this.queued.has(key)) {
      if (first && !this.queuedFirst.has(key)) {
        this.queuedFirst.add(key);
        this.first.push(key); // its entry in the other lane is skipped when reached
      }
      return;
    }
    this.queued.add(key);
    if (first) {
      this.queuedFirst.add(key);
      this.first.push(key);
    } else {
      this.ready.push(key);
    }
  }

  /** Queues `key` at `at` (epoch ms) unless it is already queued or due sooner. */
  addAt(key: string, at: number): void {
    const due = this.delayed.dueOf(key);
    if (due === undefined || at < due) this.delayed.upsert(key, at);
  }

  /** Moves keys whose delay has passed into the ready list. */
  promote(now: number): void {
    for (const key of this.delayed.popDue(now)) this.add(key);
  }

  /** The next time a delayed key becomes ready, if any. */
  nextDelayed(): number | undefined {
    return this.delayed.peekDue();
  }

  /** Takes the next key to process, or undefined. The caller must call `done(key)`. */
  take(): string | undefined {
    for (;;) {
      const key = this.first.length > 0 ? this.first.shift() : this.ready.shift();
      if (key === undefined) return undefined;
      // An entry left behind when its key moved to the first lane (or was taken from it) is skipped.
      if (!this.queued.has(key)) continue;
      this.queued.delete(key);
      this.queuedFirst.delete(key);
      this.running.add(key);
      return key;
    }
  }

  /** Marks `key` finished; re-queues it (in the lane it was last asked for) when it was added while running. */
  done(key: string): void {
    this.running.delete(key);
    const first = this.dirtyFirst.delete(key);
    if (this.dirty.delete(key)) this.add(key, first);
  }

  /** Counts a failure of `key` and returns how many it has had in a row (1 on the first). */
  failed(key: string): number {
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, n);
    return n;
  }

  /** Clears the failure count of `key` after a success. */
  succeeded(key: string): void {
    this.attempts.delete(key);
  }

  /** Drops every trace of `key` (its object is gone). */
  forget(key: string): void {
    this.delayed.remove(key);
    this.attempts.delete(key);
  }
}
