import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { EventRecorder, EventTarget } from './types.js';

/**
 * Records core/v1 Events (what `kubectl describe` and `kubectl get events` show). Writes are fire-and-forget:
 * a failure is reported to `onError` and never blocks or fails the caller. Identical events within
 * `dedupeMs` are dropped so a retry loop cannot flood the API.
 */
export function createEventRecorder(
  kc: KubeConfig,
  component: string,
  onError: (err: unknown) => void,
  clock: () => number = Date.now,
  dedupeMs = 60_000,
): EventRecorder {
  const core = kc.makeApiClient(CoreV1Api);
  const recent = new Map<string, number>();
  return {
    record(target: EventTarget, type, reason, message) {
      const now = clock();
      const key = `${target.namespace}/${target.name}/${reason}/${message}`;
      const last = recent.get(key);
      if (last !== undefined && now - last < dedupeMs) return;
      recent.set(key, now);
      if (recent.size > 10_000) recent.clear();
      const stamp = new Date(now);
      const body: CoreV1Event = {
        metadata: { generateName: `${target.name.slice(0, 200)}.`, namespace: target.namespace },
        involvedObject: {
          kind: target.kind,
          apiVersion: target.apiVersion,
          namespace: target.namespace,
          name: target.name,
          ...(target.uid === undefined ? {} : { uid: target.uid }),
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component },
        reportingComponent: component,
        reportingInstance: component,
        firstTimestamp: stamp,
        lastTimestamp: stamp,
        count: 1,
      };
      core.createNamespacedEvent({ namespace: target.namespace, body }).catch(onError);
    },
  };
}
