import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Pod,
  type V1Secret,
  Watch,
} from '@kubernetes/client-node';
import { call, type ClientOptions, deadline } from './client.js';
import { namespaceFromModel, podFromModel, secretFromModel, serviceFromModel } from './convert.js';
import { projectPod, projectSecret } from './projection.js';
import { createListWatch, listInPages, type ListWatchTransport, type WatchEvent } from './list-watch.js';
import type { ClusterWatches, PodObject, SecretObject, WatchSource } from './types.js';

/** A list of a whole collection may take longer than one object's read. */
const LIST_TIMEOUT_MS = 60_000;
/** The server closes each watch after 5 to 10 minutes (spread), and the watch resumes from there. */
const WATCH_SECONDS_MIN = 300;

/** One page of a list call: client-node's `limit` and `_continue`. */
export interface PageQuery {
  readonly limit: number;
  readonly _continue?: string;
}

/**
 * The list-then-watch of one collection over client-node: the list in pages with a deadline each, a Watch
 * stream. Every object is converted (for pods and Secrets, projected) as it arrives, page by page and event
 * by event, so the models are garbage at once.
 */
function transport<M extends KubernetesObject, T>(
  kc: KubeConfig,
  path: string,
  list: (page: PageQuery, options: ClientOptions) => Promise<KubernetesListObject<M>>,
  convert: (model: M) => T,
  labelSelector?: string,
  fieldSelector?: string,
): ListWatchTransport<T> {
  const watcher = new Watch(kc);
  return {
    list() {
      return listInPages(async (limit, token) => {
        const options = { timeoutMs: LIST_TIMEOUT_MS };
        const page = { limit, ...(token === undefined ? {} : { _continue: token }) };
        const listed = await call(`list ${path}`, () => list(page, deadline(options)), options);
        return {
          items: listed.items,
          resourceVersion: listed.metadata?.resourceVersion ?? '',
          continueToken: listed.metadata?._continue,
        };
      }, convert);
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
        (type: string, object: unknown) => onEvent(toEvent<M, T>(type, object, convert)),
        (err: unknown) => onDone(err ?? undefined),
      );
      return { abort: () => controller.abort() };
    },
  };
}

function toEvent<M, T>(type: string, object: unknown, convert: (model: M) => T): WatchEvent<T> {
  const o = object as { code?: number; message?: string; metadata?: { resourceVersion?: string } };
  if (type === 'ERROR') return { type: 'ERROR', code: o.code, message: o.message ?? '' };
  if (type === 'BOOKMARK') return { type: 'BOOKMARK', resourceVersion: o.metadata?.resourceVersion ?? '' };
  return { type: type as 'ADDED' | 'MODIFIED' | 'DELETED', object: convert(object as M) };
}

/**
 * A list-then-watch of one collection over client-node (`createListWatch`: synced only after a good list,
 * backoff with jitter, a cache; lists in pages). Objects reach the handlers and `list()` as the product's
 * types (`convert`, once, on arrival). `labelSelector` keeps the watch to our objects (e.g. pods labelled
 * mtls-injector.io/managed=true), not the whole cluster; `fieldSelector` likewise (e.g. the
 * PodCertificateRequests of one signer). `list` must apply the same selectors, ask for the page it is given
 * and pass the options (the deadline) to the client.
 */
export function createWatchSource<
  M extends KubernetesObject,
  T extends { metadata?: { namespace?: string; name?: string } },
>(
  kc: KubeConfig,
  path: string,
  list: (page: PageQuery, options: ClientOptions) => Promise<KubernetesListObject<M>>,
  convert: (model: M) => T,
  labelSelector?: string,
  fieldSelector?: string,
): WatchSource<T> {
  return createListWatch(
    transport(kc, path, list, convert, labelSelector, fieldSelector),
    (object: T) => object,
  );
}

/** A pod of the rotator's pod watch as it is kept: its projection (src/kube/projection.ts). */
export function watchedPod(pod: V1Pod): PodObject {
  return projectPod(podFromModel(pod));
}

/** A Secret of the rotator's Secret watch as it is kept: its projection (src/kube/projection.ts). */
export function watchedSecret(secret: V1Secret): SecretObject {
  return projectSecret(secretFromModel(secret));
}

/**
 * The rotator's watches over the real API server (`createListWatch`: synced only after a good list,
 * backoff with jitter). `managedSelector` keeps the pod and Secret watches to our objects (labelled
 * mtls-injector.io/managed=true), not the whole cluster. Pods and Secrets are kept as the projections of
 * src/kube/projection.ts (the fields the rotator reads), not as the API server sent them. With
 * `secretsNamespace` the Secret watch covers that one namespace (an install that delivers no Secrets to
 * workloads reads none outside its own namespace).
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
      (page, o) => core.listPodForAllNamespaces({ labelSelector: managedSelector, ...page }, o),
      watchedPod,
      managedSelector,
    ),
    secrets:
      secretsNamespace === undefined
        ? createWatchSource(
            kc,
            '/api/v1/secrets',
            (page, o) => core.listSecretForAllNamespaces({ labelSelector: managedSelector, ...page }, o),
            watchedSecret,
            managedSelector,
          )
        : createWatchSource(
            kc,
            `/api/v1/namespaces/${secretsNamespace}/secrets`,
            (page, o) =>
              core.listNamespacedSecret(
                { namespace: secretsNamespace, labelSelector: managedSelector, ...page },
                o,
              ),
            watchedSecret,
            managedSelector,
          ),
    services: createWatchSource(
      kc,
      '/api/v1/services',
      (page, o) => core.listServiceForAllNamespaces({ ...page }, o),
      serviceFromModel,
    ),
    namespaces: createWatchSource(
      kc,
      '/api/v1/namespaces',
      (page, o) => core.listNamespace({ ...page }, o),
      namespaceFromModel,
    ),
  };
}
