import { ErrorCode, InjectorError } from '../core/errors.js';
import type { Mode } from '../core/policy/decide.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import type { Reason } from '../core/reasons.js';
import type { PodObject } from '../kube/types.js';
import type { WorkloadApi, WorkloadKind } from '../kube/types.js';
import { ownerKey, podOwner } from '../model/owners.js';
import { type OnboardPlan, type PlanReason, planOnboarding, type UnmanagedPod } from './plan.js';
import { isInjected } from '../model/pods.js';
import { type RolloutOutcome, waitForRollout } from './rollout.js';

/** What happened to one workload. `dry_run` and `skipped` mean nothing was written. */
export type WorkloadOutcome = RolloutOutcome | 'dry_run' | 'skipped';

/** One line of the onboarding report (the `workloads[]` entries of `onboard -o json`). */
export interface WorkloadReport {
  readonly kind: WorkloadKind;
  readonly name: string;
  readonly action: 'restart' | 'skip';
  readonly reason: PlanReason;
  readonly webhookReason: Reason | null;
  readonly message: string;
  readonly pods: number;
  readonly podsWithoutIdentity: readonly string[];
  readonly outcome: WorkloadOutcome;
  readonly outcomeMessage: string;
  /** The restartedAt value written, or null when not restarted. */
  readonly restartedAt: string | null;
  /** Pods of the workload created since the restart, and how many of them the webhook injected. */
  readonly newPods: number | null;
  readonly newPodsInjected: number | null;
  readonly elapsedMs: number | null;
}

/** The whole run: `onboard -o json` prints exactly this object. */
export interface OnboardReport {
  readonly schemaVersion: 1;
  readonly namespace: string;
  readonly mode: Mode | null;
  readonly dryRun: boolean;
  readonly refused: string | null;
  readonly workloads: readonly WorkloadReport[];
  readonly unmanagedPods: readonly UnmanagedPod[];
  readonly summary: Readonly<Record<WorkloadOutcome, number>>;
}

export interface OnboardOptions {
  readonly namespace: string;
  readonly dryRun: boolean;
  readonly force: boolean;
  /** Per workload: how long to wait for its rollout before moving on. */
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly settings: InjectionSettings;
  readonly excludedNamespaces: readonly string[];
}

export interface OnboardDeps {
  readonly api: WorkloadApi;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly signal?: AbortSignal | undefined;
  /** Called as each workload finishes, so a CLI can print progress while the next one rolls. */
  readonly progress?: ((report: WorkloadReport) => void) | undefined;
  /** Awaited before each restart: the rotator's automatic onboarding rate-limits restarts with it. */
  readonly beforeRestart?: (() => Promise<void>) | undefined;
}

/** RFC 3339 in UTC without fractions, the format `kubectl rollout restart` writes. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Exit status of a report: 1 when refused or a restart failed, else 0 (progressing/stalled are not failures). */
export function onboardFailed(report: OnboardReport): boolean {
  return report.refused !== null || report.summary.failed > 0;
}

/** Reads the namespace and its workloads, then plans (see planOnboarding). */
async function readPlan(
  api: WorkloadApi,
  options: Pick<OnboardOptions, 'namespace' | 'force' | 'settings' | 'excludedNamespaces'>,
): Promise<OnboardPlan> {
  const ns = await api.getNamespace(options.namespace);
  if (ns === undefined) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `namespace ${options.namespace} not found; expected an existing namespace (check -n and the kubeconfig context)`,
    );
  }
  const [workloads, replicaSets, pods] = await Promise.all([
    api.listWorkloads(options.namespace),
    api.listReplicaSets(options.namespace),
    api.listPods(options.namespace),
  ]);
  return planOnboarding({
    namespace: options.namespace,
    namespaceLabels: ns.metadata.labels,
    workloads,
    replicaSets,
    pods,
    settings: options.settings,
    excludedNamespaces: options.excludedNamespaces,
    force: options.force,
  });
}

/**
 * Onboards a namespace: plans, then restarts the planned workloads ONE AT A TIME the way `kubectl rollout
 * restart` does (the pod template's restartedAt annotation), waiting for each rollout to make progress
 * before the next. A failed restart is reported and the run goes on with the next workload.
 */
export async function runOnboard(deps: OnboardDeps, options: OnboardOptions): Promise<OnboardReport> {
  const plan = await readPlan(deps.api, options);
  const reports: WorkloadReport[] = [];
  for (const item of plan.workloads) {
    const base = {
      kind: item.kind,
      name: item.name,
      action: item.action,
      reason: item.reason,
      webhookReason: item.webhookReason ?? null,
      message: item.message,
      pods: item.pods,
      podsWithoutIdentity: item.podsWithoutIdentity,
      restartedAt: null,
      newPods: null,
      newPodsInjected: null,
      elapsedMs: null,
    };
    let report: WorkloadReport;
    if (plan.refused !== undefined || item.action === 'skip') {
      report = { ...base, outcome: 'skipped', outcomeMessage: item.message };
    } else if (options.dryRun) {
      report = { ...base, outcome: 'dry_run', outcomeMessage: `would restart: ${item.message}` };
    } else {
      if (deps.signal?.aborted !== true) await deps.beforeRestart?.();
      report =
        deps.signal?.aborted === true
          ? { ...base, outcome: 'skipped', outcomeMessage: 'interrupted before its turn' }
          : await restartOne(deps, options, base, item.podUids);
    }
    reports.push(report);
    deps.progress?.(report);
  }
  const summary: Record<WorkloadOutcome, number> = {
    complete: 0,
    progressing: 0,
    stalled: 0,
    failed: 0,
    dry_run: 0,
    skipped: 0,
  };
  for (const r of reports) summary[r.outcome] += 1;
  return {
    schemaVersion: 1,
    namespace: plan.namespace,
    mode: plan.mode ?? null,
    dryRun: options.dryRun,
    refused: plan.refused ?? null,
    workloads: reports,
    unmanagedPods: plan.unmanagedPods,
    summary,
  };
}

type ReportBase = Omit<WorkloadReport, 'outcome' | 'outcomeMessage'>;

async function restartOne(
  deps: OnboardDeps,
  options: OnboardOptions,
  base: ReportBase,
  podUids: readonly string[],
): Promise<WorkloadReport> {
  const startedAt = deps.clock();
  const restartedAt = rfc3339(startedAt);
  const target = { kind: base.kind, namespace: options.namespace, name: base.name };
  let generation: number;
  try {
    const patched = await deps.api.restartWorkload(target.kind, target.namespace, target.name, restartedAt);
    generation = patched.metadata.generation ?? 0;
  } catch (err) {
    return {
      ...base,
      outcome: 'failed',
      outcomeMessage: `restart failed: ${err instanceof Error ? err.message : String(err)}`,
      elapsedMs: deps.clock() - startedAt,
    };
  }
  let result;
  try {
    result = await waitForRollout(deps, target, generation, options);
  } catch (err) {
    // The restart itself was written; only watching it failed.
    result = {
      outcome: 'stalled' as const,
      message: `restarted, but its rollout could not be read: ${err instanceof Error ? err.message : String(err)}`,
      elapsedMs: deps.clock() - startedAt,
    };
  }
  const fresh = await newPods(deps.api, options.namespace, ownerKey(target), new Set(podUids)).catch(
    () => undefined,
  );
  let outcomeMessage = result.message;
  if (fresh !== undefined && fresh.total > 0 && fresh.injected === 0) {
    outcomeMessage += `; none of its ${fresh.total} new pod(s) was injected: is the webhook running? (mtls-injector check -n ${options.namespace})`;
  }
  return {
    ...base,
    outcome: result.outcome,
    outcomeMessage,
    restartedAt,
    newPods: fresh?.total ?? null,
    newPodsInjected: fresh?.injected ?? null,
    elapsedMs: result.elapsedMs,
  };
}

/** Live pods of one workload that did not exist when it was planned (by uid: a StatefulSet reuses names). */
async function newPods(
  api: WorkloadApi,
  namespace: string,
  key: string,
  before: ReadonlySet<string>,
): Promise<{ total: number; injected: number }> {
  const [pods, replicaSets] = await Promise.all([api.listPods(namespace), api.listReplicaSets(namespace)]);
  const mine = pods.filter((pod: PodObject) => {
    const owner = podOwner(pod, replicaSets);
    if (owner === undefined || ownerKey(owner) !== key) return false;
    return !before.has(pod.metadata.uid ?? '') && pod.metadata.deletionTimestamp == null;
  });
  return { total: mine.length, injected: mine.filter(isInjected).length };
}
