import type { Decision, Mode } from '../core/policy/decide.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import { OPT_IN_LABEL } from '../core/names.js';
import type { Reason } from '../core/reasons.js';
import type { PodObject } from '../kube/types.js';
import type { ReplicaSetObject, WorkloadKind, WorkloadObject } from '../kube/types.js';
import { ownerKey, podOwner } from '../model/owners.js';
import { isInjected, isLive, isMirror, webhookDecision } from '../model/pods.js';
import { namespaceMode, webhookSelection } from '../model/selection.js';

/**
 * Why a workload is restarted or left alone. Stable codes: they are in `onboard -o json` and docs/onboarding.md.
 * - not_injected: some of its pods have no identity and the webhook would inject them now → restart
 * - all_injected: every pod already has an identity
 * - no_pods: 0 replicas (or a DaemonSet on no node) and no pods: nothing to restart
 * - paused: a paused Deployment does not roll; resume it first
 * - on_delete: updateStrategy OnDelete never replaces pods on a template change; delete them yourself
 * - webhook_would_skip: the webhook would let the new pods through uninjected (see webhookReason)
 * - webhook_would_deny: the webhook would refuse the new pods (see webhookReason): a restart would break it
 * - not_selected: the webhook would not see the new pods (namespace not opted in, pod not labelled)
 */
export type PlanReason =
  | 'not_injected'
  | 'all_injected'
  | 'no_pods'
  | 'paused'
  | 'on_delete'
  | 'webhook_would_skip'
  | 'webhook_would_deny'
  | 'not_selected';

/** One workload and what onboarding does with it. */
export interface PlannedWorkload {
  readonly kind: WorkloadKind;
  readonly name: string;
  readonly action: 'restart' | 'skip';
  readonly reason: PlanReason;
  /** The webhook's reason code (docs/reasons.md) behind webhook_would_skip/deny, else undefined. */
  readonly webhookReason: Reason | undefined;
  readonly message: string;
  /** Live pods the workload owns. */
  readonly pods: number;
  /** Names of its live pods without an identity. */
  readonly podsWithoutIdentity: readonly string[];
  /** uids of every live pod it owned when planned: pods without one of these after a restart are new. */
  readonly podUids: readonly string[];
}

/**
 * A pod without an identity that the webhook would inject if it were re-created, but that no restart can
 * re-create (bare pod, Job, ReplicaSet without Deployment…). Pods the webhook would leave alone are not listed.
 */
export interface UnmanagedPod {
  readonly name: string;
  readonly owner: { readonly kind: string; readonly name: string } | undefined;
  readonly message: string;
}

export interface OnboardPlan {
  readonly namespace: string;
  readonly mode: Mode | undefined;
  /** Set when onboarding refuses to run; the message says why and what to do. */
  readonly refused: string | undefined;
  /** Restarts first, in a stable order (kind, then name); then the skipped ones. */
  readonly workloads: readonly PlannedWorkload[];
  readonly unmanagedPods: readonly UnmanagedPod[];
}

export interface PlanInput {
  readonly namespace: string;
  /** Labels of the namespace (undefined when it has none). */
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  readonly workloads: readonly WorkloadObject[];
  readonly replicaSets: readonly ReplicaSetObject[];
  readonly pods: readonly PodObject[];
  readonly settings: InjectionSettings;
  readonly excludedNamespaces: readonly string[];
  /** Plan even though the namespace is not opted in (only pods labelled mtls-injection=enabled qualify). */
  readonly force: boolean;
}

const KIND_ORDER: Record<WorkloadKind, number> = { Deployment: 0, StatefulSet: 1, DaemonSet: 2 };

/**
 * Decides, without any I/O, which workloads `onboard` restarts: those owning a live pod without the managed
 * label that the webhook would inject if it were created now (decide() on the stored pod, so the same rules
 * and reason codes as admission). A restart that the webhook would refuse (strict namespace, opted-out pod) is
 * never planned: it would leave the workload unable to create pods.
 */
export function planOnboarding(input: PlanInput): OnboardPlan {
  const { namespace, namespaceLabels } = input;
  const mode = namespaceMode(namespaceLabels);
  const base = { namespace, mode, workloads: [], unmanagedPods: [] };
  if (input.excludedNamespaces.includes(namespace)) {
    return {
      ...base,
      refused: `namespace ${namespace} is never injected (kube-system, kube-node-lease and the install namespace are excluded); nothing to onboard`,
    };
  }
  if (mode === undefined && !input.force) {
    const value = namespaceLabels?.[OPT_IN_LABEL];
    const now = value === undefined ? 'has no label' : `has ${OPT_IN_LABEL}=${value}`;
    return {
      ...base,
      refused:
        `namespace ${namespace} is not opted in (it ${now}); restarting its workloads would not inject them. ` +
        `Label it first: kubectl label namespace ${namespace} ${OPT_IN_LABEL}=enabled ` +
        `(or pass --force to restart only workloads whose pods carry ${OPT_IN_LABEL}=enabled themselves)`,
    };
  }

  const byWorkload = new Map<string, PodObject[]>();
  const unmanagedPods: UnmanagedPod[] = [];
  for (const pod of input.pods) {
    if (!isLive(pod)) continue;
    const owner = podOwner(pod, input.replicaSets);
    if (owner?.restartable === true) {
      const key = ownerKey(owner);
      byWorkload.set(key, [...(byWorkload.get(key) ?? []), pod]);
    } else if (!isInjected(pod) && !isMirror(pod) && wouldInject(pod, input)) {
      unmanagedPods.push({
        name: pod.metadata.name ?? '',
        owner: owner === undefined ? undefined : { kind: owner.kind, name: owner.name },
        message:
          owner === undefined
            ? 'a bare pod (no owner): delete and re-create it to inject it'
            : `owned by ${ownerKey(owner)}, which onboard does not restart: re-create the pod (or its owner) to inject it`,
      });
    }
  }

  const planned = input.workloads.map((w) =>
    planWorkload(w, byWorkload.get(ownerKey({ kind: w.kind, name: w.metadata.name ?? '' })) ?? [], input),
  );
  planned.sort(
    (a, b) =>
      Number(a.action !== 'restart') - Number(b.action !== 'restart') ||
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
      a.name.localeCompare(b.name),
  );
  unmanagedPods.sort((a, b) => a.name.localeCompare(b.name));
  return { namespace, mode, refused: undefined, workloads: planned, unmanagedPods };
}

function planWorkload(
  workload: WorkloadObject,
  pods: readonly PodObject[],
  input: PlanInput,
): PlannedWorkload {
  const kind = workload.kind;
  const name = workload.metadata.name ?? '';
  const missing = pods.filter((p) => !isInjected(p));
  const common = {
    kind,
    name,
    pods: pods.length,
    podsWithoutIdentity: missing.map((p) => p.metadata.name ?? '').sort(),
    podUids: pods.map((p) => p.metadata.uid ?? ''),
    webhookReason: undefined,
  };
  const skip = (reason: PlanReason, message: string, webhookReason?: Reason): PlannedWorkload => ({
    ...common,
    action: 'skip',
    reason,
    message,
    webhookReason,
  });

  if (pods.length === 0) {
    const desired = workload.status.desired ?? workload.spec.replicas;
    return skip(
      'no_pods',
      desired === 0
        ? `${kind} has 0 replicas: nothing to restart (new pods will be injected when it scales up)`
        : `${kind} has no pods yet: nothing to restart (new pods will be injected when they are created)`,
    );
  }
  if (missing.length === 0) return skip('all_injected', `all ${pods.length} pod(s) already have an identity`);

  const decisions = missing.map((pod) => predict(pod, input));
  const injectable = decisions.filter((d) => d?.kind === 'inject').length;
  if (injectable === 0) {
    const denied = decisions.find((d) => d?.kind === 'deny');
    if (denied !== undefined) {
      return skip(
        'webhook_would_deny',
        `the webhook would refuse its new pods (${denied.reason}): ${denied.message}; fix that before restarting`,
        denied.reason,
      );
    }
    const skipped = decisions.find((d) => d?.kind === 'skip');
    if (skipped !== undefined) {
      return skip(
        'webhook_would_skip',
        `the webhook would not inject its new pods (${skipped.reason}): ${skipped.message}`,
        skipped.reason,
      );
    }
    return skip(
      'not_selected',
      `its pods do not carry ${OPT_IN_LABEL}=enabled and the namespace is not opted in: the webhook would not see them`,
    );
  }
  if (kind === 'Deployment' && workload.spec.paused === true) {
    return skip(
      'paused',
      'the Deployment is paused: resume it (kubectl rollout resume) and run onboard again',
    );
  }
  if (workload.spec.strategy === 'OnDelete') {
    return skip(
      'on_delete',
      `updateStrategy OnDelete never replaces pods on a template change: delete its pods (${common.podsWithoutIdentity.join(', ')}) one at a time to inject them`,
    );
  }
  return {
    ...common,
    action: 'restart',
    reason: 'not_injected',
    message: `${missing.length} of ${pods.length} pod(s) have no identity; the webhook would inject them now`,
  };
}

/** decide() on the stored pod as the webhook would see it if it were created now; undefined if not called. */
function predict(pod: PodObject, input: PlanInput): Decision | undefined {
  const selection = webhookSelection(
    input.namespace,
    input.namespaceLabels,
    pod.metadata.labels,
    input.excludedNamespaces,
  );
  return webhookDecision(pod, input.namespace, selection, input.settings, input.excludedNamespaces);
}

function wouldInject(pod: PodObject, input: PlanInput): boolean {
  return predict(pod, input)?.kind === 'inject';
}
