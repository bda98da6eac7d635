import { CERT_FILE } from '../core/names.js';
import type { SecretObject } from '../kube/types.js';
import { planActivate, planRetire, propagationStartedAt } from './ca-rotation.js';
import { NEXT_CERT_FILE, PREVIOUS_CERT_FILE, secretIssuedBy, secretTrusts } from './ca-secret.js';
import { pendingPods, type PreviousCaPods } from './previous-ca-pods.js';
import { secretFile } from './secret-data.js';

/** A CA rotation's phase, from the files of the CA Secret. */
export type RotationPhase = 'steady' | 'prepared' | 'activated';

/** One step of `ca rotate`. */
export type RotationStep = 'prepare' | 'activate' | 'retire';

/**
 * Whether a step may run now. `now`: it would run. `waiting`: refused until the rotator, the kubelets or the
 * clock have done their part (it clears by itself); `retryInSeconds` when only time is left. `blocked`: it
 * needs another step first.
 */
export interface StepReadiness {
  readonly step: RotationStep;
  readonly state: 'now' | 'waiting' | 'blocked';
  /** Why it cannot run now (the step's own refusal); empty when it can. */
  readonly reason: string;
  readonly retryInSeconds?: number;
  /**
   * The step's propagation wait has not started: its next attempt records the start (status writes nothing),
   * and `retryInSeconds` counts from that attempt.
   */
  readonly startsWait?: boolean;
}

/** What `ca rotate status` shows: the phase, the progress counts, and every step's readiness. */
export interface RotationStatus {
  readonly phase: RotationPhase;
  /**
   * Managed Secrets in total, and how many are ready: prepared, they trust the new root; activated, their
   * leaf is not from the previous CA; steady, their leaf is from the current CA (a bring-your-own
   * intermediate swapped in place shows its reissue here).
   */
  readonly managed: number;
  readonly ready: number;
  /**
   * Activated, with Pod Certificates: pods that may still hold a pod certificate of the previous CA, and when
   * every such leaf has expired (src/model/previous-ca-pods.ts); absent otherwise.
   */
  readonly podCertificates?: { readonly pods: number; readonly until: string };
  readonly steps: readonly StepReadiness[];
}

/**
 * What Pod Certificates add to the judgement, as the steps take it: the trust bundles podCertificate volumes
 * mount (activate waits for them) and the record of pods that may hold a previous-CA leaf (retire waits for
 * it; `record` undefined when the rotator publishes none).
 */
export interface PodCertificateRotation {
  readonly bundles: readonly { readonly what: string; readonly pem: string }[];
  readonly record: { readonly record: PreviousCaPods | undefined } | undefined;
}

/**
 * The status of a rotation, judged by the very functions the steps run (planActivate, planRetire), so status
 * never says a step may run when the step would refuse, whatever those functions wait for.
 */
export function rotationStatus(
  caSecret: SecretObject,
  managed: readonly SecretObject[],
  now: Date,
  propagationSeconds: number,
  podCertificates: PodCertificateRotation = { bundles: [], record: undefined },
): RotationStatus {
  const next = secretFile(caSecret, NEXT_CERT_FILE);
  const previous = secretFile(caSecret, PREVIOUS_CERT_FILE);
  const phase: RotationPhase =
    next !== undefined ? 'prepared' : previous !== undefined ? 'activated' : 'steady';
  const current = secretFile(caSecret, CERT_FILE) ?? '';
  const ready =
    next !== undefined
      ? managed.filter((s) => secretTrusts(s, next)).length
      : previous !== undefined
        ? managed.filter((s) => !secretIssuedBy(s, previous)).length
        : managed.filter((s) => secretIssuedBy(s, current)).length;

  const prepare: StepReadiness =
    phase === 'steady'
      ? { step: 'prepare', state: 'now', reason: '' }
      : {
          step: 'prepare',
          state: 'blocked',
          reason: `a rotation is in progress (${phase}); finish it with ${phase === 'prepared' ? 'activate and retire' : 'retire'}`,
        };
  const judge = (
    step: 'activate' | 'retire',
    plan: ReturnType<typeof planActivate>,
    inPhase: boolean,
  ): StepReadiness => {
    if (plan.ok) return { step, state: 'now', reason: '' };
    if (!inPhase) return { step, state: 'blocked', reason: plan.message };
    // A refusal whose write records when its wait starts: status writes nothing, so that wait has not started
    // yet and begins at the step's next attempt. (A refusal may also write to clear a stale mark; that one
    // starts nothing.)
    const startsWait = plan.secret !== undefined && propagationStartedAt(plan.secret, step) !== undefined;
    const reason = startsWait
      ? `${plan.message}; the wait starts when you run \`mtls-injector ca rotate ${step}\``
      : plan.message;
    return {
      step,
      state: 'waiting',
      reason,
      ...(plan.retryInSeconds === undefined ? {} : { retryInSeconds: plan.retryInSeconds }),
      ...(startsWait ? { startsWait } : {}),
    };
  };
  const record = podCertificates.record?.record;
  return {
    phase,
    managed: managed.length,
    ready,
    ...(phase === 'activated' && record !== undefined
      ? { podCertificates: { pods: pendingPods(record), until: record.until } }
      : {}),
    steps: [
      prepare,
      judge(
        'activate',
        planActivate(caSecret, managed, now, propagationSeconds, podCertificates.bundles),
        phase === 'prepared',
      ),
      judge(
        'retire',
        planRetire(caSecret, managed, now, propagationSeconds, podCertificates.record),
        phase === 'activated',
      ),
    ],
  };
}
