import type { RotationStatus, StepReadiness } from '../model/ca-rotation-status.js';

const PHASES: Record<RotationStatus['phase'], { readonly what: string; readonly ready: string }> = {
  steady: {
    what: 'steady (no rotation in progress)',
    ready: 'managed certificates issued by the current CA',
  },
  prepared: {
    what: 'prepared (new root in the bundle, issuing from the current CA)',
    ready: 'managed Secrets trusting the new root',
  },
  activated: {
    what: 'activated (issuing from the new CA; previous root still trusted)',
    ready: 'managed certificates not from the previous CA',
  },
};

/** The next step of each phase (the one `next:` points at). */
const NEXT_STEP: Record<RotationStatus['phase'], StepReadiness['step']> = {
  steady: 'prepare',
  prepared: 'activate',
  activated: 'retire',
};

/**
 * `ca rotate status` as text: the phase, how far the rotator has carried it, each step with whether it may
 * run now and how long is left, and the next command.
 */
export function renderRotationStatus(status: RotationStatus, propagationSeconds: number): string {
  const phase = PHASES[status.phase];
  const lines = [
    `phase: ${phase.what}`,
    `  ${phase.ready}: ${status.ready}/${status.managed}`,
    ...(status.podCertificates === undefined
      ? []
      : [
          `  pods that may still hold a pod certificate of the previous CA: ${status.podCertificates.pods} (all expired by ${status.podCertificates.until})`,
        ]),
    `  ca.propagationDelay: ${propagationSeconds}s`,
    'steps:',
  ];
  for (const s of status.steps) {
    lines.push(`  ${s.step.padEnd(8)}  ${when(s)}${s.reason === '' ? '' : `: ${s.reason}`}`);
  }
  const next = status.steps.find((s) => s.step === NEXT_STEP[status.phase]);
  if (next !== undefined) {
    const command = `mtls-injector ca rotate ${next.step}`;
    lines.push(
      next.state === 'now'
        ? `next: ${command}`
        : next.startsWait === true
          ? `next: ${command} --wait (starts the ${next.retryInSeconds ?? propagationSeconds}s wait, then runs the step)`
          : next.retryInSeconds !== undefined
            ? `next: ${command} in ${next.retryInSeconds}s`
            : `next: ${command} once it may run; rerun mtls-injector ca rotate status to follow`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function when(s: StepReadiness): string {
  if (s.state === 'now') return 'may run now';
  if (s.state === 'blocked') return 'not in this phase';
  if (s.startsWait === true) return `may run ${s.retryInSeconds ?? 0}s after its next attempt`;
  return s.retryInSeconds === undefined ? 'not yet' : `may run in ${s.retryInSeconds}s`;
}
