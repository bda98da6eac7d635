import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { call } from './client.js';
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
      const body = eventBody(component, target, type, reason, message, new Date(now));
      core.createNamespacedEvent({ namespace: target.namespace, body }).catch(onError);
    },
  };
}

/**
 * Writes one Event and resolves once the API server stored it (throws KubeApiError otherwise): for a CLI
 * command, which must not exit before its Events are written.
 */
export function createEventWriter(
  kc: KubeConfig,
  component: string,
): (...event: Parameters<EventRecorder['record']>) => Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  return async (target, type, reason, message) => {
    const body = eventBody(component, target, type, reason, message, new Date());
    await call(`create Event on ${target.kind} ${target.namespace}/${target.name}`, () =>
      core.createNamespacedEvent({ namespace: target.namespace, body }),
    );
  };
}

function eventBody(
  component: string,
  target: EventTarget,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  stamp: Date,
): CoreV1Event {
  return {
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
}
