import type { WorkloadApi, WorkloadKind, WorkloadObject } from '../kube/types.js';

/**
 * Where a rollout stands, read from the workload's status alone:
 * - waiting: the controller has not acted on the new template yet (observedGeneration behind, or no new pod)
 * - progressing: the controller created pods from the new template; not all are available yet
 * - blocked: the controller cannot create pods (ReplicaFailure, e.g. an admission webhook or quota refuses them)
 * - failed: the Deployment's progress deadline passed
 * - complete: every pod is from the new template and available
 */
export type RolloutPhase = 'waiting' | 'progressing' | 'blocked' | 'failed' | 'complete';

export interface RolloutState {
  readonly phase: RolloutPhase;
  readonly message: string;
  /** What to do when the rollout stays in this state (used for `stalled`). */
  readonly hint?: string | undefined;
}

/** The state of a rollout started by a template change that produced `generation`. Pure. */
export function rolloutState(workload: WorkloadObject, generation: number): RolloutState {
  const s = workload.status;
  if ((s.observedGeneration ?? 0) < generation) {
    return {
      phase: 'waiting',
      message: `waiting for the ${workload.kind} controller to observe generation ${generation} (observed ${s.observedGeneration ?? 0})`,
      hint: 'is the controller running?',
    };
  }
  const desired = s.desired ?? workload.spec.replicas ?? 0;
  const updated = s.updated ?? 0;
  const available = s.available ?? 0;
  const counts = `${updated}/${desired} updated, ${available} available, ${s.current ?? 0} total`;
  const progressing = workload.status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return {
      phase: 'failed',
      message: `progress deadline exceeded (${counts}): ${progressing.message ?? ''}`.trim(),
    };
  }
  const failure = workload.status.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (failure !== undefined && updated === 0) {
    return {
      phase: 'blocked',
      message: `cannot create pods (${failure.reason ?? 'ReplicaFailure'}): ${failure.message ?? ''}`.trim(),
    };
  }
  if (isComplete(workload, desired, updated, available)) {
    return { phase: 'complete', message: `rolled out (${counts})` };
  }
  if (updated > 0) return { phase: 'progressing', message: `progressing, not yet available (${counts})` };
  if (workload.kind === 'StatefulSet' && (s.ready ?? 0) < (s.current ?? 0)) {
    return {
      phase: 'waiting',
      message: `no pod from the new template yet (${counts}, ${s.ready ?? 0} ready)`,
      hint: 'a StatefulSet replaces pods only while all of them are Running and Ready: delete the pods that are not ready, one at a time, so they are re-created from the new template',
    };
  }
  return { phase: 'waiting', message: `no pod from the new template yet (${counts})` };
}

function isComplete(w: WorkloadObject, desired: number, updated: number, available: number): boolean {
  const s = w.status;
  if (updated < desired || available < desired) return false;
  switch (w.kind) {
    case 'Deployment':
      // Old pods gone too: status.replicas counts every pod, old and new.
      return (s.current ?? 0) <= updated;
    case 'StatefulSet':
      return (
        (s.ready ?? 0) >= desired &&
        (s.updateRevision === undefined || s.currentRevision === s.updateRevision)
      );
    case 'DaemonSet':
      return (s.current ?? 0) <= desired;
  }
}

/** How a restart ended, for the report and the exit code (only `failed` is an error). */
export type RolloutOutcome = 'complete' | 'progressing' | 'stalled' | 'failed';

export interface RolloutResult {
  readonly outcome: RolloutOutcome;
  readonly message: string;
  readonly elapsedMs: number;
}

export interface WaitDeps {
  readonly api: Pick<WorkloadApi, 'getWorkload'>;
  readonly clock: () => number;
  /** Resolves after `ms` (a fake clock advances instead); should resolve early when `signal` aborts. */
  readonly sleep: (ms: number) => Promise<void>;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Polls the workload until its rollout completes, fails, or `timeoutMs` passes. On a cluster where pods never
 * become ready (no kubelet, image pull errors) the answer after the timeout is `progressing` as long as the
 * controller created pods from the new template, `stalled` when it created none, and `failed` when it could
 * not create them (blocked) or the progress deadline passed.
 */
export async function waitForRollout(
  deps: WaitDeps,
  target: { readonly kind: WorkloadKind; readonly namespace: string; readonly name: string },
  generation: number,
  options: { readonly timeoutMs: number; readonly pollMs: number },
): Promise<RolloutResult> {
  const start = deps.clock();
  let last: RolloutState = { phase: 'waiting', message: 'not read yet' };
  for (;;) {
    const workload = await deps.api.getWorkload(target.kind, target.namespace, target.name);
    const elapsedMs = deps.clock() - start;
    if (workload === undefined) {
      return { outcome: 'failed', message: `${target.kind} was deleted during the restart`, elapsedMs };
    }
    last = rolloutState(workload, generation);
    if (last.phase === 'complete') return { outcome: 'complete', message: last.message, elapsedMs };
    if (last.phase === 'failed') return { outcome: 'failed', message: last.message, elapsedMs };
    if (elapsedMs >= options.timeoutMs || deps.signal?.aborted === true) {
      const why = deps.signal?.aborted === true ? 'interrupted' : `after ${formatMs(options.timeoutMs)}`;
      switch (last.phase) {
        case 'progressing':
          return { outcome: 'progressing', message: `${last.message} ${why}`, elapsedMs };
        case 'blocked':
          return { outcome: 'failed', message: `${last.message} (still ${why})`, elapsedMs };
        case 'waiting': {
          const hint = last.hint === undefined ? '' : `; ${last.hint}`;
          return { outcome: 'stalled', message: `${last.message} ${why}${hint}`, elapsedMs };
        }
      }
    }
    await deps.sleep(Math.min(options.pollMs, Math.max(1, options.timeoutMs - elapsedMs)));
  }
}

/** 300000 → "5m", 1500 → "1.5s". */
export function formatMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Number((ms / 1000).toFixed(1))}s`;
}
