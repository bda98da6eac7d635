import type { InjectionSettings } from '../core/policy/settings.js';
import type { WorkloadApi } from '../kube/types.js';
import type { Log } from '../observability/logger.js';
import { type OnboardReport, runOnboard, type WorkloadReport } from './run.js';

/** Defaults for `rotator.onboardingAuto`: gentle, because nobody asked for these restarts in person. */
const AUTO_ONBOARDING_DEFAULTS = {
  /** At least this long between two restarts, across every namespace. */
  minIntervalMs: 30_000,
  /** How long one workload's rollout is watched before moving on. */
  timeoutMs: 5 * 60_000,
  pollMs: 2_000,
} as const;

/** What automatic onboarding runs on: the API, time, the injection settings, a log. */
export interface AutoOnboarderDeps {
  readonly api: WorkloadApi;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly settings: InjectionSettings;
  readonly excludedNamespaces: readonly string[];
  readonly log: Pick<Log, 'info' | 'warn'>;
  readonly signal?: AbortSignal | undefined;
  readonly minIntervalMs?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly pollMs?: number | undefined;
  /** Each workload as it finishes (for an Event on it, or a metric). */
  readonly onWorkload?: ((namespace: string, report: WorkloadReport) => void) | undefined;
  /** Each namespace as it finishes. */
  readonly onNamespace?: ((report: OnboardReport) => void) | undefined;
}

/** Automatic onboarding for the rotator (`rotator.onboardingAuto`). */
export interface AutoOnboarder {
  /**
   * Queues a namespace that has just opted in (see gainedOptIn). A namespace already queued is not queued
   * twice; one that is being onboarded is queued again so workloads created meanwhile are picked up.
   */
  enqueue(namespace: string): void;
  /**
   * Stops at once (this replica lost leadership): the queue is emptied and no further workload is
   * restarted, including in the namespace being onboarded now. Namespaces enqueued later start afresh.
   */
  cancel(): void;
  /** Resolves when the queue is empty and nothing runs. */
  idle(): Promise<void>;
  /** Namespaces waiting, in order. */
  pending(): readonly string[];
}

/**
 * Onboards namespaces one after another, one workload at a time, with at least `minIntervalMs` between two
 * restarts wherever they are. Failures are logged and reported; they never stop the queue. Only the leader
 * enqueues (a restart is a write), and the rotator calls `cancel()` when it loses leadership.
 */
export function createAutoOnboarder(deps: AutoOnboarderDeps): AutoOnboarder {
  const minIntervalMs = deps.minIntervalMs ?? AUTO_ONBOARDING_DEFAULTS.minIntervalMs;
  const queue: string[] = [];
  let running: Promise<void> | undefined;
  let lastRestart: number | undefined;
  /** Aborted by cancel(): ends the current term of leadership's work. */
  let term = new AbortController();
  const stopped = (): boolean => deps.signal?.aborted === true || term.signal.aborted;

  const beforeRestart = async (): Promise<void> => {
    if (lastRestart !== undefined) {
      const wait = lastRestart + minIntervalMs - deps.clock();
      if (wait > 0) await deps.sleep(wait);
    }
    lastRestart = deps.clock();
  };

  const drain = async (): Promise<void> => {
    const signal = deps.signal === undefined ? term.signal : AbortSignal.any([deps.signal, term.signal]);
    for (let namespace = queue.shift(); namespace !== undefined; namespace = queue.shift()) {
      if (stopped()) {
        queue.length = 0;
        return;
      }
      try {
        const report = await runOnboard(
          {
            api: deps.api,
            clock: deps.clock,
            sleep: deps.sleep,
            signal,
            beforeRestart,
            progress: (w) => {
              deps.log.info(
                { namespace, workload: `${w.kind}/${w.name}`, outcome: w.outcome, reason: w.reason },
                w.action === 'restart' ? 'onboarding: restarted workload' : 'onboarding: skipped workload',
              );
              deps.onWorkload?.(namespace, w);
            },
          },
          {
            namespace,
            dryRun: false,
            force: false,
            timeoutMs: deps.timeoutMs ?? AUTO_ONBOARDING_DEFAULTS.timeoutMs,
            pollMs: deps.pollMs ?? AUTO_ONBOARDING_DEFAULTS.pollMs,
            settings: deps.settings,
            excludedNamespaces: deps.excludedNamespaces,
          },
        );
        if (report.refused !== null)
          deps.log.info({ namespace, why: report.refused }, 'onboarding: skipped namespace');
        deps.onNamespace?.(report);
      } catch (err) {
        deps.log.warn(
          { namespace, error: err instanceof Error ? err.message : String(err) },
          'onboarding: namespace could not be onboarded',
        );
      }
    }
  };

  const kick = (): void => {
    if (running !== undefined) return;
    running = drain().finally(() => {
      running = undefined;
      if (queue.length > 0 && !stopped()) kick();
    });
  };

  return {
    enqueue(namespace) {
      if (term.signal.aborted && running === undefined) term = new AbortController();
      if (queue.includes(namespace)) return;
      queue.push(namespace);
      kick();
    },
    cancel() {
      queue.length = 0;
      term.abort();
    },
    async idle() {
      while (running !== undefined) await running;
    },
    pending: () => [...queue],
  };
}
