import { admit, type AdmitOptions } from '../core/admit.js';
import { patchJson } from '../core/mutate/json-text.js';
import type { AdmissionReview } from '../core/review.js';
import { encodeAdmissionResponse } from '../core/review.js';
import type { AdmissionResult } from '../observability/metrics.js';

/**
 * Everything the webhook sends, counts and logs for one review: the answer's text, the metric labels and the
 * fields of the review's log line. Made by `reviewOutcome` from a parsed review, or rendered from a
 * remembered one (answer-template.ts); the two must be equal field for field and byte for byte.
 */
export interface ReviewOutcome {
  /** The AdmissionReview response, as sent. */
  readonly body: string;
  /** The JSONPatch text inside `body` before base64, when there is a patch and it was asked for. */
  readonly patchText: string | undefined;
  readonly result: AdmissionResult;
  readonly reason: string;
  /** Logged as a warning (a denial, or a pod let through by failing open) rather than as info. */
  readonly warn: boolean;
  readonly uid: string;
  readonly namespace: string;
  readonly pod: string;
  readonly operation: string;
  readonly dryRun: boolean;
  readonly decision: 'inject' | 'skip' | 'deny';
  readonly secret: string | undefined;
  readonly delivery: string | undefined;
  readonly message: string | undefined;
  readonly warnings: readonly string[] | undefined;
}

const RESULT: Record<ReviewOutcome['decision'], AdmissionResult> = {
  inject: 'patched',
  skip: 'allowed',
  deny: 'denied',
};

/**
 * Decides a parsed review (`admit`) and encodes its answer. `withPatchText` also returns the patch's JSON
 * text (a second rendering of it, for answer templates only).
 */
export function reviewOutcome(
  review: AdmissionReview,
  options: AdmitOptions,
  withPatchText = false,
): ReviewOutcome {
  const { decision, response, pod } = admit(review, options);
  const request = review.request;
  return {
    body: encodeAdmissionResponse(response),
    patchText:
      !withPatchText || decision.kind === 'deny' || decision.patch.length === 0
        ? undefined
        : patchJson(decision.patch),
    result: RESULT[decision.kind],
    reason: decision.reason,
    warn: decision.kind === 'deny' || (decision.kind === 'skip' && decision.failedOpen),
    uid: request.uid,
    namespace: request.namespace ?? '',
    pod,
    operation: request.operation,
    dryRun: request.dryRun ?? false,
    decision: decision.kind,
    secret: decision.kind === 'inject' ? (decision.secretName ?? undefined) : undefined,
    delivery: decision.kind === 'inject' ? decision.delivery : undefined,
    message: decision.kind === 'deny' ? decision.message : undefined,
    warnings: decision.warnings.length > 0 ? decision.warnings : undefined,
  };
}

/**
 * The fields of a review's log line. One shape for every line (absent fields are undefined, which pino
 * leaves out), so building it is cheap.
 */
export function reviewLogFields(
  outcome: ReviewOutcome,
  endpoint: string,
  seconds: number,
): Record<string, unknown> {
  return {
    uid: outcome.uid,
    namespace: outcome.namespace,
    pod: outcome.pod,
    operation: outcome.operation,
    endpoint,
    dryRun: outcome.dryRun,
    decision: outcome.decision,
    reason: outcome.reason,
    secret: outcome.secret,
    delivery: outcome.delivery,
    message: outcome.message,
    warnings: outcome.warnings,
    durationMs: Math.round(seconds * 1e6) / 1e3,
  };
}
