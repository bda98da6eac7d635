/**
 * The list-then-watch loop every rotator watch runs on (src/kube/list-watch.ts), over an in-memory
 * transport and a fake clock: synced only after a good list, errors reported, failures retried with
 * exponential backoff and jitter (never a fixed one-second loop), a normal close resumed without a list.
 */
import { describe, expect, it } from 'vitest';
import {
  createListWatch,
  listInPages,
  type ListWatchTransport,
  type LoopTime,
  type WatchEvent,
} from '../../src/kube/list-watch.js';
import { FakeClock, seededRandom, settleMicrotasks } from '../fakes/clock.js';

interface Obj {
  metadata: { namespace?: string; name?: string; resourceVersion?: string };
}

const obj = (name: string, rv = '1'): Obj => ({ metadata: { namespace: 'ns', name, resourceVersion: rv } });

/** A transport whose lists fail while `listFailures` > 0, and whose open watch the test drives. */
class FakeTransport implements ListWatchTransport<Obj> {
  items: Obj[] = [];
  listFailures = 0;
  readonly lists: number[] = [];
  readonly watches: { rv: string; at: number }[] = [];
  stream:
    { onEvent: (e: WatchEvent<Obj>) => void; onDone: (err: unknown) => void; aborted: boolean } | undefined;

  constructor(private readonly clock: FakeClock) {}

  list() {
    this.lists.push(this.clock.now);
    if (this.listFailures > 0) {
      this.listFailures -= 1;
      return Promise.reject(new Error('list: HTTP 503'));
    }
    return Promise.resolve({ items: [...this.items], resourceVersion: String(this.lists.length * 10) });
  }

  watch(rv: string, onEvent: (e: WatchEvent<Obj>) => void, onDone: (err: unknown) => void) {
    this.watches.push({ rv, at: this.clock.now });
    const stream = { onEvent, onDone, aborted: false };
    this.stream = stream;
    return Promise.resolve({ abort: () => (stream.aborted = true) });
  }
}

function setup() {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock);
  const time: LoopTime = {
    now: clock.read,
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (h) => clock.clearTimeout(h as object),
    random: seededRandom(7),
  };
  const seen: string[] = [];
  const source = createListWatch(transport, (o: Obj) => o.metadata.name ?? '', time);
  const handlers = {
    upsert: (n: string) => seen.push(`+${n}`),
    remove: (n: string) => seen.push(`-${n}`),
    synced: () => seen.push('synced'),
    error: (e: unknown) => seen.push(`error:${String(e)}`),
  };
  return { clock, transport, source, handlers, seen };
}

describe('createListWatch', () => {
  it('never reports synced after a failed list, and backs off with jitter between attempts', async () => {
    const { clock, transport, source, handlers, seen } = setup();
    transport.listFailures = 6;
    await source.start(handlers);
    expect(seen).toEqual(['error:Error: list: HTTP 503']);
    await clock.tick(120_000);
    expect(seen.filter((s) => s === 'synced')).toHaveLength(1);
    expect(seen.indexOf('synced')).toBe(seen.length - 1);
    expect(seen.filter((s) => s.startsWith('error'))).toHaveLength(6);

    // The gaps between attempts double (1 s, 2 s, 4 s, … up to 30 s), each between half and all of that.
    const gaps = transport.lists.slice(1).map((t, i) => t - (transport.lists[i] ?? 0));
    expect(gaps).toHaveLength(6);
    gaps.forEach((gap, i) => {
      const ceiling = Math.min(30_000, 1000 * 2 ** i);
      expect(gap, `gap ${i}`).toBeGreaterThanOrEqual(ceiling / 2);
      expect(gap, `gap ${i}`).toBeLessThanOrEqual(ceiling);
    });
    expect(new Set(gaps.map((g, i) => g / Math.min(30_000, 1000 * 2 ** i))).size).toBeGreaterThan(1);
  });

  it('delivers a list, removals of what is gone since the last one, and then synced', async () => {
    const { clock, transport, source, handlers, seen } = setup();
    transport.items = [obj('a'), obj('b')];
    await source.start(handlers);
    expect(seen).toEqual(['+a', '+b', 'synced']);
    expect(transport.watches).toEqual([{ rv: '10', at: clock.now }]);

    // The watch breaks; meanwhile b was deleted and c created.
    transport.items = [obj('a'), obj('c')];
    transport.stream?.onDone(new Error('connection reset'));
    expect(seen.at(-1)).toBe('error:Error: connection reset');
    await clock.tick(1000);
    expect(seen.slice(-4)).toEqual(['-b', '+a', '+c', 'synced']);
    expect([...source.list()].sort()).toEqual(['a', 'c']);
  });

  it('resumes a watch the server closed normally from its last resourceVersion, without a list', async () => {
    const { clock, transport, source, handlers } = setup();
    await source.start(handlers);
    clock.advance(300_000);
    transport.stream?.onEvent({ type: 'ADDED', object: obj('x', '42') });
    transport.stream?.onEvent({ type: 'BOOKMARK', resourceVersion: '57' });
    transport.stream?.onDone(undefined);
    await settleMicrotasks();
    expect(transport.lists).toHaveLength(1);
    expect(transport.watches.map((w) => w.rv)).toEqual(['10', '57']);
  });

  it('lists again at once after 410 Gone', async () => {
    const { transport, source, handlers } = setup();
    await source.start(handlers);
    transport.stream?.onEvent({ type: 'ERROR', code: 410, message: 'too old resource version' });
    transport.stream?.onDone(undefined);
    await settleMicrotasks();
    expect(transport.lists).toHaveLength(2);
  });

  it('backs off a watch the server closes as soon as it opens', async () => {
    const { clock, transport, source, handlers } = setup();
    await source.start(handlers);
    for (let i = 0; i < 5; i++) {
      transport.stream?.onDone(undefined);
      await clock.tick(60_000);
    }
    const gaps = transport.watches.slice(1).map((w, i) => w.at - (transport.watches[i]?.at ?? 0));
    expect(gaps.every((g) => g >= 500)).toBe(true);
  });

  it('stops: closes the watch and makes no further call', async () => {
    const { clock, transport, source, handlers } = setup();
    await source.start(handlers);
    const stream = transport.stream;
    source.stop();
    expect(stream?.aborted).toBe(true);
    stream?.onDone(new Error('aborted'));
    await clock.tick(120_000);
    expect(transport.lists).toHaveLength(1);
  });
  it('converts each object once, on arrival, and keeps the converted value (a projection drops the model)', async () => {
    const clock = new FakeClock();
    const transport = new FakeTransport(clock);
    transport.items = [obj('a'), obj('b')];
    const converted: string[] = [];
    const time: LoopTime = {
      now: clock.read,
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (h) => clock.clearTimeout(h as object),
      random: seededRandom(7),
    };
    const source = createListWatch(
      transport,
      (o: Obj) => {
        converted.push(o.metadata.name ?? '');
        return { name: o.metadata.name ?? '' };
      },
      time,
    );
    const delivered: { name: string }[] = [];
    await source.start({ upsert: (o) => delivered.push(o), remove: () => undefined });
    transport.stream?.onEvent({ type: 'MODIFIED', object: obj('a', '2') });
    const listed = source.list();
    expect(converted).toEqual(['a', 'b', 'a']);
    expect(listed).toHaveLength(2);
    expect(listed.every((o) => delivered.includes(o))).toBe(true);
    expect(source.list()).toEqual(listed);
    expect(converted).toHaveLength(3);
  });
});

describe('listInPages', () => {
  it('asks for the next page only after every object of the last one was projected', async () => {
    const log: string[] = [];
    const all = Array.from({ length: 7 }, (_, i) => `o${i}`);
    const listed = await listInPages(
      (limit, token) => {
        log.push(`fetch ${limit} ${token ?? '-'}`);
        const from = token === undefined ? 0 : Number(token);
        const next = from + limit;
        return Promise.resolve({
          items: all.slice(from, next),
          resourceVersion: '99',
          continueToken: next < all.length ? String(next) : '',
        });
      },
      (o: string) => {
        log.push(`project ${o}`);
        return o.toUpperCase();
      },
      3,
    );
    expect(listed).toEqual({ items: ['O0', 'O1', 'O2', 'O3', 'O4', 'O5', 'O6'], resourceVersion: '99' });
    expect(log).toEqual([
      'fetch 3 -',
      'project o0',
      'project o1',
      'project o2',
      'fetch 3 3',
      'project o3',
      'project o4',
      'project o5',
      'fetch 3 6',
      'project o6',
    ]);
  });

  it('fails the whole list when a page fails (an expired continue token): nothing half-listed is answered', async () => {
    let calls = 0;
    const failing = listInPages(
      () => {
        calls += 1;
        if (calls === 2) return Promise.reject(new Error('410 Gone: continue token expired'));
        return Promise.resolve({ items: ['a'], resourceVersion: '1', continueToken: 'next' });
      },
      (o: string) => o,
    );
    await expect(failing).rejects.toThrow('continue token expired');
  });
});
