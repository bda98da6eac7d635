import { objectKey, type PodObject } from '../kube/types.js';
import { isLive } from '../model/pods.js';
import { controllingPod } from '../model/workload-secret.js';
import { orphanItem, podFacts, type PodInfo, type RotatorCache } from './cache.js';

/** What the sync of an orphan item reads and hands on. */
export interface OrphanSyncDeps {
  readonly cache: RotatorCache;
  /** Reads one pod, undefined for 404. */
  readonly getPod: (namespace: string, name: string) => Promise<PodObject | undefined>;
  /** The sync of a pod, for an owner that still runs. */
  readonly syncPod: (pod: PodInfo) => Promise<void>;
  /** Queues a work item. */
  readonly enqueue: (item: string) => void;
}

/**
 * The sync of a Secret whose owning pod the pod watch does not show (`orphanItem`): reads the pod its
 * controlling ownerReference names. Still there, running and mounting it: synced like any pod, so renewal
 * follows the ownerReference and not a label. Gone: the live pods that mount the Secret are queued (one may
 * take it over). Finished, or mounting another Secret: nothing to do.
 */
export function createOrphanSync(deps: OrphanSyncDeps): (secretKey: string) => Promise<void> {
  const { cache } = deps;
  const queueMounters = (secretKey: string): void => {
    for (const item of cache.mountersOf(secretKey)) deps.enqueue(item);
  };
  return async (secretKey) => {
    // Queued before the pod watch had delivered the owner (a start, a re-list): ask the cache again first.
    const current = cache.ownerOf(secretKey);
    if (current !== orphanItem(secretKey)) {
      if (current !== undefined) deps.enqueue(current);
      return;
    }
    const secret = cache.secret(secretKey);
    const owner = secret === undefined ? undefined : controllingPod(secret.object);
    const namespace = secret?.object.metadata.namespace;
    if (owner === undefined || namespace === undefined) {
      queueMounters(secretKey);
      return;
    }
    const found = await deps.getPod(namespace, owner.name);
    if (found === undefined || found.metadata.uid !== owner.uid) {
      queueMounters(secretKey);
      return;
    }
    const info = podFacts(found);
    if (info === undefined) {
      if (!isLive(found)) cache.setFinished(owner.uid);
      return;
    }
    if (objectKey(info.namespace, info.secretName) === secretKey) await deps.syncPod(info);
  };
}
