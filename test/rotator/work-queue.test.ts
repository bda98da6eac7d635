/**
 * The rotator's work queue (src/rotator/work-queue.ts): first in, first out across the compaction of its
 * ready list, each key at most once, never twice in flight.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/rotator/work-queue.js';

describe('WorkQueue', () => {
  it('hands out 100,000 keys in the order they were added, interleaved with takes', () => {
    const queue = new WorkQueue();
    const taken: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      queue.add(`k${i}`);
      if (i % 3 === 0) {
        const key = queue.take();
        if (key !== undefined) {
          taken.push(key);
          queue.done(key);
        }
      }
    }
    for (let key = queue.take(); key !== undefined; key = queue.take()) {
      taken.push(key);
      queue.done(key);
    }
    expect(taken).toHaveLength(100_000);
    expect(taken.every((key, i) => key === `k${i}`)).toBe(true);
    expect(queue.depth).toBe(0);
  });

  it('matches a plain array model for any sequence of adds and takes', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(50), fc.constant(-1)), { maxLength: 3000 }), (ops) => {
        const queue = new WorkQueue();
        const model: string[] = [];
        for (const op of ops) {
          if (op >= 0) {
            const key = `k${op}`;
            queue.add(key);
            if (!model.includes(key)) model.push(key);
          } else {
            const key = queue.take();
            expect(key).toBe(model.shift());
            if (key !== undefined) queue.done(key);
          }
          expect(queue.depth).toBe(model.length);
        }
      }),
    );
  });

  it('queues a key added while it runs once more after it is done', () => {
    const queue = new WorkQueue();
    queue.add('a');
    expect(queue.take()).toBe('a');
    queue.add('a');
    expect(queue.take()).toBeUndefined();
    queue.done('a');
    expect(queue.take()).toBe('a');
  });
});
