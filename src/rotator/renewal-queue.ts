/**
 * A min-heap of keys by due time with O(log n) upsert and removal, so the rotator learns the next renewal
 * from the Secrets it watches instead of listing every Secret on a tick (docs/design.md, "Budgets").
 */
export class RenewalQueue {
  private readonly heap: { key: string; due: number }[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `key` at `due` (epoch ms), replacing any earlier schedule for it. */
  upsert(key: string, due: number): void {
    const at = this.index.get(key);
    if (at === undefined) {
      this.heap.push({ key, due });
      this.index.set(key, this.heap.length - 1);
      this.up(this.heap.length - 1);
      return;
    }
    const entry = this.heap[at];
    if (entry === undefined) return;
    const before = entry.due;
    entry.due = due;
    if (due < before) this.up(at);
    else this.down(at);
  }

  /** Forgets `key`; a no-op when it is not scheduled. */
  remove(key: string): void {
    const at = this.index.get(key);
    if (at === undefined) return;
    const last = this.heap.pop();
    this.index.delete(key);
    if (last === undefined || at === this.heap.length) return;
    this.heap[at] = last;
    this.index.set(last.key, at);
    this.down(at);
    this.up(at);
  }

  /** The due time of `key`, or undefined. */
  dueOf(key: string): number | undefined {
    const at = this.index.get(key);
    return at === undefined ? undefined : this.heap[at]?.due;
  }

  /** The earliest due time, or undefined when empty. */
  peekDue(): number | undefined {
    return this.heap[0]?.due;
  }

  /** Removes and returns every key due at or before `now`, earliest first. */
  popDue(now: number, limit = Number.POSITIVE_INFINITY): string[] {
    const out: string[] = [];
    while (out.length < limit) {
      const top = this.heap[0];
      if (top === undefined || top.due > now) break;
      this.remove(top.key);
      out.push(top.key);
    }
    return out;
  }

  private up(at: number): void {
    let child = at;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (this.dueAt(parent) <= this.dueAt(child)) break;
      this.swap(parent, child);
      child = parent;
    }
  }

  private down(at: number): void {
    let parent = at;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < this.heap.length && this.dueAt(left) < this.dueAt(smallest)) smallest = left;
      if (right < this.heap.length && this.dueAt(right) < this.dueAt(smallest)) smallest = right;
      if (smallest === parent) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }

  private dueAt(i: number): number {
    return this.heap[i]?.due ?? Number.POSITIVE_INFINITY;
  }

  private swap(a: number, b: number): void {
    const ea = this.heap[a];
    const eb = this.heap[b];
    if (ea === undefined || eb === undefined) return;
    this.heap[a] = eb;
    this.heap[b] = ea;
    this.index.set(eb.key, a);
    this.index.set(ea.key, b);
  }
}
