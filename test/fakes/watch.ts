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

  constructor(initial: readonly T[] = []) {
    for (const obj of initial) this.objects.set(key(obj), obj);
  }

  /** A new client's watch of this collection. */
  watch(): WatchSource<T> {
    const client = new FakeWatch(this);
    this.clients.push(client);
    return client;
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  put(obj: T): void {
    this.objects.set(key(obj), obj);
    for (const c of this.clients) c.handlers?.upsert(obj);
  }

  delete(obj: T): void {
    this.objects.delete(key(obj));
    for (const c of this.clients) c.handlers?.remove(obj);
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
