import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';
import type { WatchHandlers, WatchSource } from './types.js';

/**
 * A list-then-watch of one collection (client-node informer) that restarts itself after a failure with a
 * growing delay, reports errors and (re)syncs to its handlers, and keeps a cache. `labelSelector` keeps the
 * watch to our objects (e.g. pods labelled mtls-injector.io/managed=true), not the whole cluster.
 */
export function createWatchSource<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  labelSelector?: string,
): WatchSource<T> {
  const informer = makeInformer<T>(kc, path, list, labelSelector);
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    async start(handlers: WatchHandlers<T>) {
      informer.on('add', (obj) => handlers.upsert(obj));
      informer.on('update', (obj) => handlers.upsert(obj));
      informer.on('delete', (obj) => handlers.remove(obj));
      informer.on('connect', () => {
        failures = 0;
      });
      informer.on('error', (err?: unknown) => {
        handlers.error?.(err);
        if (stopped) return;
        failures += 1;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
        timer = setTimeout(() => {
          informer.start().then(
            () => handlers.synced?.(),
            (e: unknown) => handlers.error?.(e),
          );
        }, delay);
      });
      await informer.start();
      handlers.synced?.();
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      void informer.stop();
    },
    list: () => informer.list(),
  };
}
