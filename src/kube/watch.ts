import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  Watch,
} from '@kubernetes/client-node';
import { call, type ClientOptions, deadline } from './client.js';
import { namespaceFromModel, podFromModel, secretFromModel, serviceFromModel } from './convert.js';
import { createListWatch, type ListWatchTransport, type WatchEvent } from './list-watch.js';
import type { ClusterWatches, WatchSource } from './types.js';

/** A list of a whole collection may take longer than one object's read. */
const LIST_TIMEOUT_MS = 60_000;
/** The server closes each watch after 5 to 10 minutes (spread), and the watch resumes from there. */
const WATCH_SECONDS_MIN = 300;

/** The list-then-watch of one collection over client-node: the list with a deadline, a Watch stream. */
function transport<M extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: (options: ClientOptions) => Promise<KubernetesListObject<M>>,
  labelSelector?: string,
  fieldSelector?: string,
): ListWatchTransport<M> {
  const watcher = new Watch(kc);
  return {
    async list() {
      const options = { timeoutMs: LIST_TIMEOUT_MS };
      const listed = await call(`list ${path}`, () => list(deadline(options)), options);
      return { items: listed.items, resourceVersion: listed.metadata?.resourceVersion ?? '' };
    },
    async watch(resourceVersion, onEvent, onDone) {
      const query: Record<string, string | number | boolean> = {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: WATCH_SECONDS_MIN + Math.floor(Math.random() * WATCH_SECONDS_MIN),
        ...(labelSelector === undefined ? {} : { labelSelector }),
        ...(fieldSelector === undefined ? {} : { fieldSelector }),
      };
      const controller = await watcher.watch(
        path,
        query,
        (type: string, object: unknown) => onEvent(toEvent<M>(type, object)),
        (err: unknown) => onDone(err ?? undefined),
      );
      return { abort: () => controller.abort() };
    },
  };
}

function toEvent<M>(type: string, object: unknown): WatchEvent<M> {
  const o = object as { code?: number; message?: string; metadata?: { resourceVersion?: string } };
  if (type === 'ERROR') return { type: 'ERROR', code: o.code, message: o.message ?? '' };
  if (type === 'BOOKMARK') return { type: 'BOOKMARK', resourceVersion: o.metadata?.resourceVersion ?? '' };
  return { type: type as 'ADDED' | 'MODIFIED' | 'DELETED', object: object as M };
}

/**
 * A list-then-watch of one collection over client-node (`createListWatch`: synced only after a good list,
 * backoff with jitter, a cache). Objects reach the handlers and `list()` as the product's types (`convert`).
 * `labelSelector` keeps the watch to our objects (e.g. pods labelled mtls-injector.io/managed=true), not the
 * whole cluster; `fieldSelector` likewise (e.g. the PodCertificateRequests of one signer). `list` must apply
 * the same selectors and pass the options it is given (the deadline) to the client.
 */
export function createWatchSource<M extends KubernetesObject, T>(
  kc: KubeConfig,
  path: string,
  list: (options: ClientOptions) => Promise<KubernetesListObject<M>>,
  convert: (model: M) => T,
  labelSelector?: string,
  fieldSelector?: string,
): WatchSource<T> {
  return createListWatch(transport(kc, path, list, labelSelector, fieldSelector), convert);
}

/**
 * The rotator's watches over the real API server (`createWatchSource`: synced only after a good list,
 * backoff with jitter). `managedSelector` keeps the pod and Secret watches to our objects (labelled
 * mtls-injector.io/managed=true), not the whole cluster. With `secretsNamespace` the Secret watch covers
 * that one namespace (an install that delivers no Secrets to workloads reads none outside its own namespace).
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
      (o) => core.listPodForAllNamespaces({ labelSelector: managedSelector }, o),
      podFromModel,
      managedSelector,
    ),
    secrets:
      secretsNamespace === undefined
        ? createWatchSource(
            kc,
            '/api/v1/secrets',
            (o) => core.listSecretForAllNamespaces({ labelSelector: managedSelector }, o),
            secretFromModel,
            managedSelector,
          )
        : createWatchSource(
            kc,
            `/api/v1/namespaces/${secretsNamespace}/secrets`,
            (o) =>
              core.listNamespacedSecret({ namespace: secretsNamespace, labelSelector: managedSelector }, o),
            secretFromModel,
            managedSelector,
          ),
    services: createWatchSource(
      kc,
      '/api/v1/services',
      (o) => core.listServiceForAllNamespaces({}, o),
      serviceFromModel,
    ),
    namespaces: createWatchSource(
      kc,
      '/api/v1/namespaces',
      (o) => core.listNamespace({}, o),
      namespaceFromModel,
    ),
  };
}
