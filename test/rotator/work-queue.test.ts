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

  it('takes keys added first before the others, in order, and moves a waiting key up', () => {
    const queue = new WorkQueue();
    queue.add('renew-1');
    queue.add('renew-2');
    queue.add('new-1', true);
    queue.add('renew-3');
    queue.add('new-2', true);
    queue.add('renew-2', true); // waiting in the other lane: moves up, and is not handed out twice
    const taken: string[] = [];
    for (let key = queue.take(); key !== undefined; key = queue.take()) {
      taken.push(key);
      queue.done(key);
    }
    expect(taken).toEqual(['new-1', 'new-2', 'renew-2', 'renew-1', 'renew-3']);
    expect(queue.depth).toBe(0);
  });

  it('re-queues a key added first while it runs in the first lane', () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('b');
    expect(queue.take()).toBe('a');
    queue.add('a', true);
    queue.done('a');
    expect(queue.take()).toBe('a');
    expect(queue.take()).toBe('b');
  });

  it('matches a two-lane model for any sequence of adds (either lane) and takes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ key: fc.nat(30), first: fc.boolean() }), fc.constant(null)), {
          maxLength: 2000,
        }),
        (ops) => {
          const queue = new WorkQueue();
          const first: string[] = [];
          const rest: string[] = [];
          for (const op of ops) {
            if (op !== null) {
              const key = `k${op.key}`;
              queue.add(key, op.first);
              if (op.first && !first.includes(key)) {
                first.push(key);
                const waiting = rest.indexOf(key);
                if (waiting >= 0) rest.splice(waiting, 1);
              } else if (!op.first && !first.includes(key) && !rest.includes(key)) {
                rest.push(key);
              }
            } else {
              const key = queue.take();
              expect(key).toBe(first.length > 0 ? first.shift() : rest.shift());
              if (key !== undefined) queue.done(key);
            }
            expect(queue.depth).toBe(first.length + rest.length);
          }
        },
      ),
    );
  });
});
