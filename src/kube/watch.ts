import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import { namespaceFromModel, podFromModel, secretFromModel, serviceFromModel } from './convert.js';
import type { ClusterWatches, WatchHandlers, WatchSource } from './types.js';

/**
 * A list-then-watch of one collection (client-node informer) that restarts itself after a failure with a
 * growing delay, reports errors and (re)syncs to its handlers, and keeps a cache. Objects reach the handlers
 * and `list()` as the product's types (`convert`). `labelSelector` keeps the watch to our objects (e.g. pods
 * labelled mtls-injector.io/managed=true), not the whole cluster; `fieldSelector` likewise (e.g. the
 * PodCertificateRequests of one signer).
 */
export function createWatchSource<M extends KubernetesObject, T>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<M>>,
  convert: (model: M) => T,
  labelSelector?: string,
  fieldSelector?: string,
): WatchSource<T> {
  const informer = new ListWatch<M>(path, new Watch(kc), list, false, labelSelector, fieldSelector);
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    async start(handlers: WatchHandlers<T>) {
      informer.on('add', (obj) => handlers.upsert(convert(obj)));
      informer.on('update', (obj) => handlers.upsert(convert(obj)));
      informer.on('delete', (obj) => handlers.remove(convert(obj)));
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
    list: () => informer.list().map(convert),
  };
}

/**
 * The rotator's watches over the real API server. With `secretsNamespace` the Secret watch covers that one
 * namespace (an install that delivers no Secrets to workloads reads none outside its own namespace).
 */
export function createClusterWatches(
  kc: KubeConfig,
  managedSelector: string,
  secretsNamespace?: string,
): ClusterWatches {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    pods: createWatchSource(
      kc,
      '/api/v1/pods',
      () => core.listPodForAllNamespaces({ labelSelector: managedSelector }),
      podFromModel,
      managedSelector,
    ),
    secrets:
      secretsNamespace === undefined
        ? createWatchSource(
            kc,
            '/api/v1/secrets',
            () => core.listSecretForAllNamespaces({ labelSelector: managedSelector }),
            secretFromModel,
            managedSelector,
          )
        : createWatchSource(
            kc,
            `/api/v1/namespaces/${secretsNamespace}/secrets`,
            () => core.listNamespacedSecret({ namespace: secretsNamespace, labelSelector: managedSelector }),
            secretFromModel,
            managedSelector,
          ),
    services: createWatchSource(
      kc,
      '/api/v1/services',
      () => core.listServiceForAllNamespaces(),
      serviceFromModel,
    ),
    namespaces: createWatchSource(kc, '/api/v1/namespaces', () => core.listNamespace(), namespaceFromModel),
  };
}
