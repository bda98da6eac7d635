import { describe, expect, it } from 'vitest';
import { flushWaitingLines, LineBatch } from '../../src/observability/line-batch.js';
import { createLogger } from '../../src/observability/logger.js';

/** A sink that records each write it gets. */
function recordingSink(): { writes: string[]; write(text: string): void } {
  const writes: string[] = [];
  return { writes, write: (text: string) => void writes.push(text) };
}

/** Resolves once `condition` holds, polling; fails the test after many tries. */
async function eventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition never held');
}

describe('LineBatch', () => {
  it('hands lines over in one write, in order, once the delay has passed', async () => {
    const sink = recordingSink();
    const batch = new LineBatch(sink, { maxDelayMs: 20, maxBytes: 1 << 20 });
    batch.write('a\n');
    batch.write('b\n');
    batch.write('c\n');
    expect(sink.writes).toEqual([]);
    await eventually(() => sink.writes.length > 0);
    expect(sink.writes).toEqual(['a\nb\nc\n']);
    batch.write('d\n');
    await eventually(() => sink.writes.length > 1);
    expect(sink.writes).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('writes at once when maxBytes are waiting, and later lines still within the delay', async () => {
    const sink = recordingSink();
    const batch = new LineBatch(sink, { maxDelayMs: 20, maxBytes: 6 });
    batch.write('one\n');
    expect(sink.writes).toEqual([]);
    batch.write('two\n');
    expect(sink.writes).toEqual(['one\ntwo\n']);
    batch.write('three\n');
    expect(sink.writes).toEqual(['one\ntwo\n', 'three\n']);
    batch.write('4\n');
    await eventually(() => sink.writes.length > 2);
    expect(sink.writes).toEqual(['one\ntwo\n', 'three\n', '4\n']);
  });

  it('flush() writes what waits and calls back; with nothing waiting it writes nothing', () => {
    const sink = recordingSink();
    const batch = new LineBatch(sink, { maxDelayMs: 60_000, maxBytes: 1 << 20 });
    let called = 0;
    batch.flush(() => called++);
    expect(sink.writes).toEqual([]);
    batch.write('x\n');
    batch.write('y\n');
    batch.flush(() => called++);
    expect(sink.writes).toEqual(['x\ny\n']);
    expect(called).toBe(2);
  });

  it('writes waiting lines when the process exits', () => {
    const sink = recordingSink();
    const batch = new LineBatch(sink, { maxDelayMs: 60_000, maxBytes: 1 << 20 });
    expect(process.listeners('exit')).toContain(flushWaitingLines);
    batch.write('last words\n');
    flushWaitingLines();
    expect(sink.writes).toEqual(['last words\n']);
  });
});

describe('createLogger', () => {
  it('writes one JSON line per call, batched, and all of them on logger.flush()', () => {
    const sink = recordingSink();
    const log = createLogger({ level: 'info', component: 'test', destination: sink });
    for (let i = 0; i < 5; i++) log.info({ i }, 'review');
    expect(sink.writes).toEqual([]);
    log.flush();
    expect(sink.writes).toHaveLength(1);
    const lines = (sink.writes[0] ?? '').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject(
      [0, 1, 2, 3, 4].map((i) => ({ level: 'info', component: 'test', i, msg: 'review' })),
    );
  });

  it('writes each line as it comes with batch: false', () => {
    const sink = recordingSink();
    const log = createLogger({ level: 'info', component: 'test', destination: sink, batch: false });
    log.info({}, 'a');
    log.info({}, 'b');
    expect(sink.writes).toHaveLength(2);
  });
});
