import type { WatchHandlers } from '../kube/types.js';
import type { Log } from '../observability/logger.js';

/**
 * Which of the rotator's watches have listed, told the way readiness and the controller need it: `ready()`
 * is false while any watch has not (re)listed since its last failure, and `listedOnce()` becomes true once
 * every watch has listed at least once (before that the caches, and the opt-in labels the rotator judges by,
 * are incomplete, so nothing may be issued).
 */
export class WatchSync {
  private readonly unsynced: Set<string>;
  private readonly everListed = new Set<string>();

  constructor(
    private readonly names: readonly string[],
    private readonly log: Log,
    /** Called after every change a watch delivers, so the controller runs. */
    private readonly kick: () => void,
    /** Called once, when every watch has listed for the first time. */
    private readonly onListedOnce: () => void = () => undefined,
  ) {
    this.unsynced = new Set(names);
  }

  /** Handlers for the watch `name` that feed `upsert`/`remove` and track its sync. */
  feed<T>(name: string, upsert: (o: T) => void, remove: (o: T) => void): WatchHandlers<T> {
    return {
      upsert: (o) => {
        upsert(o);
        this.kick();
      },
      remove: (o) => {
        remove(o);
        this.kick();
      },
      synced: () => {
        const first = !this.listedOnce();
        this.unsynced.delete(name);
        this.everListed.add(name);
        if (first && this.listedOnce()) this.onListedOnce();
        this.kick();
      },
      error: (err) => {
        this.unsynced.add(name);
        this.log.warn({ watch: name, error: String(err) }, 'watch failed; re-listing with backoff');
      },
    };
  }

  /** Why the watches are not ready (those that have not listed since their last failure), or undefined. */
  notReady(): string | undefined {
    return this.unsynced.size === 0 ? undefined : `watches not synced: ${[...this.unsynced].join(', ')}`;
  }

  /** Whether every watch has listed at least once. */
  listedOnce(): boolean {
    return this.everListed.size === this.names.length;
  }

  /** Whether the watch `name` has listed at least once. */
  listed(name: string): boolean {
    return this.everListed.has(name);
  }
}
