import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { call, deadline } from './client.js';
import { apiStatus, type CallOptions } from './types.js';

/**
 * What an eviction came to: `evicted` (the API server accepted it: the pod is being deleted gracefully),
 * `gone` (no pod of that name, or one with another UID: a replacement), `blocked` (429: a
 * PodDisruptionBudget allows no disruption now; try again later).
 */
export type EvictionOutcome = 'evicted' | 'gone' | 'blocked';

/** Evicts one pod through the Eviction API, only if it still has `uid`. */
export type EvictPod = (
  namespace: string,
  name: string,
  uid: string,
  options?: CallOptions,
) => Promise<EvictionOutcome>;

/**
 * The Eviction API (policy/v1 Eviction on pods/eviction) over the real API server: honours
 * PodDisruptionBudgets and the pod's grace period, like `kubectl drain`. The UID precondition keeps a
 * replacement of the same name (a StatefulSet's) from being evicted in its place.
 */
export function createPodEviction(kc: KubeConfig): EvictPod {
  const core = kc.makeApiClient(CoreV1Api);
  return async (namespace, name, uid, options) => {
    try {
      await call(
        `evict Pod ${namespace}/${name}`,
        () =>
          core.createNamespacedPodEviction(
            {
              namespace,
              name,
              body: {
                apiVersion: 'policy/v1',
                kind: 'Eviction',
                metadata: { namespace, name },
                deleteOptions: { preconditions: { uid } },
              },
            },
            deadline(options),
          ),
        options,
      );
      return 'evicted';
    } catch (err) {
      const status = apiStatus(err);
      if (status === 404 || status === 409) return 'gone';
      if (status === 429) return 'blocked';
      throw err;
    }
  };
}
