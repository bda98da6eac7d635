import type { EventRecorder, PodObject } from '../kube/types.js';
import type { WorkloadApi } from '../kube/types.js';
import { namespaceMode } from '../model/selection.js';
import type { Log } from '../observability/logger.js';
import { type DriftedPod, findDrift, findLostOptIn, type NamespaceInfo } from '../model/drift.js';

/** What one drift pass found, for the metrics. */
export interface DriftSummary {
  /** Live pods in opted-in namespaces without an identity. */
  readonly driftedPods: number;
  /** Injected pods still running in namespaces that lost the opt-in label (faults G5). */
  readonly lostOptInPods: number;
}

/**
 * Reports drift: pods in opted-in namespaces that have no identity (they predate the opt-in, or were
 * created while the webhook was bypassed) as a Warning Event on their owning workload, and namespaces that
 * lost the label while injected pods still run there as a Warning Event on the namespace. Lists pods only of
 * opted-in namespaces, once per pass; the hot path (issuing, renewing) never waits on it.
 */
export function createDriftReporter(deps: {
  readonly api: Pick<WorkloadApi, 'listPods' | 'listReplicaSets'>;
  /** The namespaces the namespace watch holds. */
  readonly namespaces: () => readonly NamespaceInfo[];
  /** The managed pods the pod watch holds. */
  readonly managedPods: () => readonly PodObject[];
  readonly excludedNamespaces: readonly string[];
  readonly events: EventRecorder;
  readonly log: Log;
}): { run(): Promise<DriftSummary> } {
  return {
    async run() {
      const namespaces = deps.namespaces();
      const drifted: DriftedPod[] = [];
      for (const ns of namespaces) {
        if (namespaceMode(ns.labels) === undefined || deps.excludedNamespaces.includes(ns.name)) continue;
        const [pods, replicaSets] = await Promise.all([
          deps.api.listPods(ns.name),
          deps.api.listReplicaSets(ns.name),
        ]);
        drifted.push(...findDrift([ns], pods, { excludedNamespaces: deps.excludedNamespaces, replicaSets }));
      }
      for (const group of groupByOwner(drifted)) {
        const [first] = group;
        if (first === undefined) continue;
        const hint = `run \`mtls-injector onboard -n ${first.namespace}\``;
        if (first.owner !== undefined && first.restartable) {
          deps.events.record(
            {
              kind: first.owner.kind,
              apiVersion: 'apps/v1',
              namespace: first.namespace,
              name: first.owner.name,
            },
            'Warning',
            'NotInjected',
            `${group.length} pod(s) of this ${first.owner.kind} have no mTLS identity (created before the namespace opted in, or while the webhook was bypassed); ${hint}`,
          );
        } else {
          for (const pod of group) {
            deps.events.record(
              {
                kind: 'Pod',
                apiVersion: 'v1',
                namespace: pod.namespace,
                name: pod.pod,
                ...(pod.uid === undefined ? {} : { uid: pod.uid }),
              },
              'Warning',
              'NotInjected',
              'this pod has no mTLS identity and no restartable owner; delete and recreate it to inject it',
            );
          }
        }
      }
      const lost = findLostOptIn(namespaces, deps.managedPods());
      for (const ns of lost) {
        deps.events.record(
          { kind: 'Namespace', apiVersion: 'v1', namespace: 'default', name: ns.namespace },
          'Warning',
          'OptInRemoved',
          `namespace ${ns.namespace} no longer has mtls-injection=enabled|strict but ${ns.injectedPods.length} injected pod(s) still run there; their certificates keep being renewed, new pods get none`,
        );
      }
      const summary = {
        driftedPods: drifted.length,
        lostOptInPods: lost.reduce((n, ns) => n + ns.injectedPods.length, 0),
      };
      if (summary.driftedPods > 0 || summary.lostOptInPods > 0) deps.log.warn({ ...summary }, 'drift found');
      return summary;
    },
  };
}

function groupByOwner(pods: readonly DriftedPod[]): DriftedPod[][] {
  const groups = new Map<string, DriftedPod[]>();
  for (const pod of pods) {
    const key =
      pod.owner === undefined || !pod.restartable
        ? `pod/${pod.namespace}/${pod.pod}`
        : `${pod.namespace}/${pod.owner.kind}/${pod.owner.name}`;
    groups.set(key, [...(groups.get(key) ?? []), pod]);
  }
  return [...groups.values()];
}
