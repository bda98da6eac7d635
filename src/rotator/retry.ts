/**
 * How a failed work item is retried. A conflict (409) is retried at once: the writer has already re-read the
 * object. Everything else backs off exponentially with equal jitter (faults D3), from a higher floor for 403,
 * which RBAC or a quota causes and which does not fix itself in milliseconds (faults D2).
 */
export type Retry =
  | { readonly when: 'now' }
  | {
      readonly when: 'later';
      readonly delayMs: number;
      /** The `reason` label of mtls_injector_issue_failures_total. */
      readonly reason: string;
    };

/**
 * The retry of an item that failed for the `attempt`-th time in a row with HTTP `status` (undefined when the
 * API gave no answer). `random` is drawn only for a backoff.
 */
export function retryAfter(status: number | undefined, attempt: number, random: () => number): Retry {
  if (status === 409) return { when: 'now' };
  const delayMs =
    status === 403
      ? backoffDelay(attempt, random(), 10_000, 300_000)
      : backoffDelay(attempt, random(), 500, 60_000);
  return { when: 'later', delayMs, reason: failureReason(status) };
}

/**
 * Exponential backoff with equal jitter: attempt 0 waits between half of `baseMs` and `baseMs`, doubling up to
 * `maxMs`; half of each delay is fixed, half drawn from `random` in [0, 1).
 */
export function backoffDelay(attempt: number, random: number, baseMs = 500, maxMs = 60_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(ceiling / 2 + (random * ceiling) / 2);
}

function failureReason(status: number | undefined): string {
  if (status === undefined) return 'error';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server_error';
  return `http_${status}`;
}
