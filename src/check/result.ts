/**
 * One check's outcome: data, not an exception. `name` (kebab-case) says what was checked and `reason`
 * (snake_case) why it passed or failed; both are stable and documented in docs/check.md, so scripts can
 * match on them. Where a pod was or was not injected, `reason` is the webhook's own reason code
 * (docs/reasons.md).
 */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** `info` when ok; `warning` or `error` when not. */
  readonly severity: Severity;
  readonly reason: string;
  readonly message: string;
  /** What to do about a failure; null when there is nothing to do. */
  readonly hint: string | null;
}

export type Severity = 'info' | 'warning' | 'error';

/** A passed check. */
export function pass(name: string, reason: string, message: string, hint: string | null = null): CheckResult {
  return { name, ok: true, severity: 'info', reason, message, hint };
}

/** A failed check. */
export function fail(
  name: string,
  severity: 'warning' | 'error',
  reason: string,
  message: string,
  hint: string | null,
): CheckResult {
  return { name, ok: false, severity, reason, message, hint };
}

/** Counts of passed checks, warnings and errors. */
export function tally(results: readonly CheckResult[]): {
  passed: number;
  warnings: number;
  errors: number;
} {
  let passed = 0;
  let warnings = 0;
  let errors = 0;
  for (const r of results) {
    if (r.ok) passed += 1;
    else if (r.severity === 'error') errors += 1;
    else warnings += 1;
  }
  return { passed, warnings, errors };
}

/** "3d 4h", "5h 12m", "42m", "10s": a duration for people. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

/** Why an API read failed, as a check: 403 is a warning (the kubeconfig may not read it), else an error. */
export function apiFailure(
  name: string,
  what: string,
  err: unknown,
  status: number | undefined,
): CheckResult {
  const message = `cannot read ${what}: ${err instanceof Error ? err.message : String(err)}`;
  if (status === 403) {
    return fail(name, 'warning', 'forbidden', message, 'run check with a kubeconfig that may read it');
  }
  return fail(name, 'error', 'api_error', message, 'is the API server reachable with this kubeconfig?');
}
