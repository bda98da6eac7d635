import { INJECT_ANNOTATION, OPT_IN_LABEL } from '../core/names.js';
import type { PodObject } from '../kube/types.js';
import type { ReplicaSetObject } from '../kube/types.js';
import { podOwner } from './owners.js';
import { isInjected, isLive, isMirror } from './pods.js';
import { namespaceMode, podOptsIn } from './selection.js';

/** A namespace and its labels (only the opt-in label is read). */
export interface NamespaceInfo {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

/** A pod in an opted-in namespace that has no identity, and the workload to restart (or Event) for it. */
export interface DriftedPod {
  readonly namespace: string;
  readonly pod: string;
  readonly uid: string | undefined;
  /** The owning workload (Pod → ReplicaSet → Deployment, StatefulSet, DaemonSet), or its direct owner. */
  readonly owner: { readonly kind: string; readonly name: string } | undefined;
  /** True when `owner` is a Deployment, StatefulSet or DaemonSet that `onboard` can restart. */
  readonly restartable: boolean;
}

/** A namespace that lost the opt-in label while injected pods still run there (faults G5). */
export interface LostOptIn {
  readonly namespace: string;
  /** The label's value now, or undefined when it is gone. */
  readonly labelValue: string | undefined;
  /** Injected pods that run there (sorted); their certificates keep being renewed, new pods get none. */
  readonly injectedPods: readonly string[];
}

/**
 * Drift: live pods in opted-in namespaces (mtls-injection=enabled|strict) without the managed label, with the
 * workload that owns each. Pure: the caller passes what its watches hold. Left out on purpose: excluded
 * namespaces, mirror pods, finished or terminating pods, and pods that opted out in an `enabled` namespace
 * (the webhook let them through by the user's choice). Pods in namespaces missing from `namespaces` are
 * ignored. `replicaSets`, when given, resolve Deployments exactly; otherwise the pod-template-hash naming is
 * used. Sorted by namespace, then pod name.
 */
export function findDrift(
  namespaces: readonly NamespaceInfo[],
  pods: readonly PodObject[],
  options: {
    readonly excludedNamespaces: readonly string[];
    readonly replicaSets?: readonly ReplicaSetObject[] | undefined;
  },
): DriftedPod[] {
  const modes = new Map(namespaces.map((ns) => [ns.name, namespaceMode(ns.labels)]));
  const drift: DriftedPod[] = [];
  for (const pod of pods) {
    const namespace = pod.metadata.namespace ?? '';
    const mode = modes.get(namespace);
    if (mode === undefined || options.excludedNamespaces.includes(namespace)) continue;
    if (isInjected(pod) || !isLive(pod) || isMirror(pod)) continue;
    const optOut = pod.metadata.annotations?.[INJECT_ANNOTATION]?.trim().toLowerCase() === 'false';
    if (optOut && mode === 'enabled') continue;
    const owner = podOwner(pod, options.replicaSets);
    drift.push({
      namespace,
      pod: pod.metadata.name ?? '',
      uid: pod.metadata.uid,
      owner: owner === undefined ? undefined : { kind: owner.kind, name: owner.name },
      restartable: owner?.restartable === true,
    });
  }
  return drift.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod));
}

/**
 * Namespaces that are no longer opted in while injected pods still run there (G5). A pod that opts in with
 * its own mtls-injection=enabled label in an unlabelled namespace is injected legitimately and not counted.
 * Sorted by namespace.
 */
export function findLostOptIn(namespaces: readonly NamespaceInfo[], pods: readonly PodObject[]): LostOptIn[] {
  const byName = new Map(namespaces.map((ns) => [ns.name, ns]));
  const found = new Map<string, string[]>();
  for (const pod of pods) {
    const namespace = pod.metadata.namespace ?? '';
    const ns = byName.get(namespace);
    if (ns === undefined || namespaceMode(ns.labels) !== undefined) continue;
    if (!isInjected(pod) || !isLive(pod)) continue;
    if (ns.labels?.[OPT_IN_LABEL] === undefined && podOptsIn(pod.metadata.labels)) continue;
    found.set(namespace, [...(found.get(namespace) ?? []), pod.metadata.name ?? '']);
  }
  return [...found.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([namespace, injectedPods]) => ({
      namespace,
      labelValue: byName.get(namespace)?.labels?.[OPT_IN_LABEL],
      injectedPods: injectedPods.sort(),
    }));
}
