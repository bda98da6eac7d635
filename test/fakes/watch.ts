import { createListWatch, type LoopTime, type WatchEvent } from '../../src/kube/list-watch.js';
import type { WatchHandlers, WatchSource } from '../../src/kube/types.js';

type Named = { readonly metadata: { readonly namespace?: string; readonly name?: string } };

/**
 * One collection of an in-memory API server, watched by any number of clients with informer semantics: a
 * client's `start` delivers the objects already there, then reports synced; `put`/`delete` reach every
 * running client; `fail` reports a broken stream to them and `resync` the re-list after it.
 */
export class FakeCollection<T extends Named> {
  private readonly objects = new Map<string, T>();
  private readonly clients: FakeWatch<T>[] = [];
  private readonly streams = new Set<(e: WatchEvent<T>) => void>();
  /** Lists through `listWatch` fail while this is above 0 (each failure counts it down). */
  listFailures = 0;

  constructor(initial: readonly T[] = []) {
    for (const obj of initial) this.objects.set(key(obj), obj);
  }

  /** A new client's watch of this collection. */
  watch(): WatchSource<T> {
    const client = new FakeWatch(this);
    this.clients.push(client);
    return client;
  }

  /**
   * A client watching through the product's own list-then-watch loop (src/kube/list-watch.ts) on `time`:
   * its lists fail while `listFailures` > 0, its watch streams every put and delete.
   */
  listWatch(time: LoopTime): WatchSource<T> {
    return createListWatch<T, T>(
      {
        list: () => {
          if (this.listFailures > 0) {
            this.listFailures -= 1;
            return Promise.reject(new Error('list: HTTP 503 Service Unavailable'));
          }
          return Promise.resolve({ items: this.list(), resourceVersion: '1' });
        },
        watch: (_rv, onEvent) => {
          this.streams.add(onEvent);
          return Promise.resolve({ abort: () => this.streams.delete(onEvent) });
        },
      },
      (o) => o,
      time,
    );
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  put(obj: T): void {
    const type = this.objects.has(key(obj)) ? 'MODIFIED' : 'ADDED';
    this.objects.set(key(obj), obj);
    for (const c of this.clients) c.handlers?.upsert(obj);
    for (const s of this.streams) s({ type, object: obj });
  }

  delete(obj: T): void {
    this.objects.delete(key(obj));
    for (const c of this.clients) c.handlers?.remove(obj);
    for (const s of this.streams) s({ type: 'DELETED', object: obj });
  }

  fail(err: unknown): void {
    for (const c of this.clients) c.handlers?.error?.(err);
  }

  resync(): void {
    for (const c of this.clients) {
      for (const obj of this.objects.values()) c.handlers?.upsert(obj);
      c.handlers?.synced?.();
    }
  }
}

class FakeWatch<T extends Named> implements WatchSource<T> {
  handlers: WatchHandlers<T> | undefined;

  constructor(private readonly collection: FakeCollection<T>) {}

  start(handlers: WatchHandlers<T>): Promise<void> {
    this.handlers = handlers;
    for (const obj of this.collection.list()) handlers.upsert(obj);
    handlers.synced?.();
    return Promise.resolve();
  }

  stop(): void {
    this.handlers = undefined;
  }

  list(): readonly T[] {
    return this.collection.list();
  }
}

function key(obj: Named): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}
