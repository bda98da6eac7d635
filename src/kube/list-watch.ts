import type { WatchHandlers, WatchSource } from './types.js';

/** One page of a list: the objects and the resourceVersion to watch from. */
export interface Listed<M> {
  readonly items: readonly M[];
  readonly resourceVersion: string;
}

/** Objects per page of a list; client-go's informers list in pages of 500 too. */
export const LIST_PAGE_SIZE = 500;

/** One page of a paginated list: its objects, the snapshot's resourceVersion, the token of the next page. */
export interface ListPage<M> {
  readonly items: readonly M[];
  readonly resourceVersion: string;
  /** undefined (or empty) on the last page. */
  readonly continueToken: string | undefined;
}

/**
 * Lists a collection page by page (`limit`/`continue`), handing every object of a page to `project` before
 * the next page is asked for, so no more than one page of whole objects is alive at a time: one list of
 * 150,000 pods would be about a gigabyte of JSON and objects at once. Every page is served from one
 * snapshot, whose resourceVersion is answered; an expired continue token fails the list (it is retried).
 */
export async function listInPages<M, P>(
  fetch: (limit: number, continueToken: string | undefined) => Promise<ListPage<M>>,
  project: (model: M) => P,
  pageSize = LIST_PAGE_SIZE,
): Promise<Listed<P>> {
  const items: P[] = [];
  let token: string | undefined;
  let resourceVersion = '';
  do {
    const page = await fetch(pageSize, token);
    for (const model of page.items) items.push(project(model));
    resourceVersion = page.resourceVersion || resourceVersion;
    token = page.continueToken === '' ? undefined : page.continueToken;
  } while (token !== undefined);
  return { items, resourceVersion };
}

/** A watch event as the API server streams it. */
export type WatchEvent<M> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: M }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string }
  /** A Status in the stream; 410 means the resourceVersion is too old: list again. */
  | { readonly type: 'ERROR'; readonly code: number | undefined; readonly message: string };

/** How a list-then-watch reaches the API server (client-node in production, fakes in tests). */
export interface ListWatchTransport<M> {
  /** Lists the collection (with a deadline). */
  list(): Promise<Listed<M>>;
  /**
   * Opens a watch from `resourceVersion`; `onEvent` gets each event, `onDone` is called once when the stream
   * ends (undefined for a normal close by the server). Answers a way to close it.
   */
  watch(
    resourceVersion: string,
    onEvent: (event: WatchEvent<M>) => void,
    onDone: (err: unknown) => void,
  ): Promise<{ abort(): void }>;
}

/** The timers and randomness the loop waits on (Node's by default). */
export interface LoopTime {
  readonly now: () => number;
  readonly setTimeout: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
  readonly random: () => number;
}

/** Backoff after consecutive failures: 1 s doubling to 30 s, equal jitter (half fixed, half random). */
export const WATCH_BACKOFF = { baseMs: 1000, maxMs: 30_000 } as const;
/** A watch that stayed up this long resets the backoff. */
const HEALTHY_MS = 60_000;
/** A watch closed sooner than this after opening counts as a failure. */
const QUICK_CLOSE_MS = 1000;

const nodeTime: LoopTime = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  random: Math.random,
};

/**
 * A list-then-watch of one collection that keeps a cache and tells its handlers the truth:
 *   - `synced` only after a list succeeded and its objects were delivered (objects gone since the last list
 *     are delivered as removals), never after a failed one;
 *   - `error` on every failed list or broken watch, so readiness turns false until the next good list;
 *   - failures are retried with exponential backoff and equal jitter (WATCH_BACKOFF), reset only once a
 *     watch has stayed up HEALTHY_MS, so an API server that fails every request is not hammered;
 *   - a watch the server closes normally resumes from the last resourceVersion without a list; 410 Gone
 *     lists again at once.
 * `start` resolves after the first list attempt, good or bad, so a caller is never blocked by a down API.
 *
 * Each object is converted once, when it arrives, and the cache keeps the converted value, not the model:
 * a `convert` that projects (keeps only the fields the caller reads, as controller-runtime's cache
 * transforms do) lets the model, managedFields and all, be collected at once. At 150,000 pods that is the
 * difference between holding every pod's spec and status and holding a few hundred bytes of each.
 */
export function createListWatch<M extends { metadata?: { namespace?: string; name?: string } }, T>(
  transport: ListWatchTransport<M>,
  convert: (model: M) => T,
  time: LoopTime = nodeTime,
): WatchSource<T> {
  const cache = new Map<string, T>();
  let handlers: WatchHandlers<T> | undefined;
  let stopped = false;
  let failures = 0;
  let timer: unknown;
  let current: { abort(): void } | undefined;
  let resourceVersion = '';

  const key = (m: M): string => `${m.metadata?.namespace ?? ''}/${m.metadata?.name ?? ''}`;

  /** Runs `next` after the backoff of one more consecutive failure. */
  const later = (next: () => Promise<void>): void => {
    if (stopped) return;
    failures += 1;
    const ceiling = Math.min(WATCH_BACKOFF.maxMs, WATCH_BACKOFF.baseMs * 2 ** Math.min(failures - 1, 20));
    const delay = Math.floor(ceiling / 2 + (time.random() * ceiling) / 2);
    timer = time.setTimeout(() => void next(), delay);
  };

  /** A failed list or a broken watch: told to the handlers (not synced any more), listed again later. */
  const retryLater = (err: unknown): void => {
    handlers?.error?.(err);
    later(relist);
  };

  const relist = async (): Promise<void> => {
    if (stopped) return;
    let listed: Listed<M>;
    try {
      listed = await transport.list();
    } catch (err) {
      retryLater(err);
      return;
    }
    if (stopped) return;
    const fresh = new Map(listed.items.map((m) => [key(m), m]));
    for (const [k, old] of cache) if (!fresh.has(k)) handlers?.remove(old);
    cache.clear();
    for (const [k, m] of fresh) {
      const object = convert(m);
      cache.set(k, object);
      handlers?.upsert(object);
    }
    resourceVersion = listed.resourceVersion;
    handlers?.synced?.();
    await watchFrom();
  };

  const watchFrom = async (): Promise<void> => {
    if (stopped) return;
    const opened = time.now();
    let gone = false;
    const onEvent = (event: WatchEvent<M>): void => {
      if (stopped) return;
      switch (event.type) {
        case 'ADDED':
        case 'MODIFIED': {
          const object = convert(event.object);
          cache.set(key(event.object), object);
          handlers?.upsert(object);
          break;
        }
        case 'DELETED':
          cache.delete(key(event.object));
          handlers?.remove(convert(event.object));
          break;
        case 'BOOKMARK':
          resourceVersion = event.resourceVersion || resourceVersion;
          return;
        case 'ERROR':
          if (event.code === 410) gone = true;
          return;
      }
      const meta = (event.object as { metadata?: { resourceVersion?: string } }).metadata;
      resourceVersion = meta?.resourceVersion ?? resourceVersion;
    };
    const onDone = (err: unknown): void => {
      current = undefined;
      if (stopped) return;
      const lasted = time.now() - opened;
      if (lasted >= HEALTHY_MS) failures = 0;
      if (gone || (err as { statusCode?: unknown } | undefined)?.statusCode === 410) {
        void relist();
        return;
      }
      if (err === undefined || err === null) {
        // A normal close (the server's watch timeout): resume from where it ended, without a list; a watch
        // closed as soon as it opened backs off like a failure.
        if (lasted < QUICK_CLOSE_MS) later(watchFrom);
        else void watchFrom();
        return;
      }
      retryLater(err);
    };
    try {
      current = await transport.watch(resourceVersion, onEvent, onDone);
      if (stopped) current.abort();
    } catch (err) {
      retryLater(err);
    }
  };

  return {
    async start(h) {
      handlers = h;
      stopped = false;
      await relist();
    },
    stop() {
      stopped = true;
      time.clearTimeout(timer);
      current?.abort();
    },
    list: () => [...cache.values()],
  };
}
