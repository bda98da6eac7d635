/**
 * The deadline of one signer or publisher write, as the Secret writer gives its own (src/rotator/secret-writer.ts):
 * WRITE_TIMEOUT_MS, cut to what is left of this replica's leadership, so no write can land after a follower may
 * have taken over. With too little left the write is refused (MTLS_ERR_KUBE_API; the work queue retries it,
 * and a replica that no longer leads does not drain).
 */
import { ErrorCode, InjectorError } from '../../core/errors.js';
import type { CallOptions } from '../../kube/types.js';
import { WRITE_TIMEOUT_MS } from '../secret-writer.js';

/** Less than this left of leadership and nothing is written (a write is one round trip). */
export const MIN_WRITE_MS = 1000;

/** How long this replica may still write, in ms (0 once it no longer leads). */
export type WriteWindow = () => number;

/** The options of one write of `what` within `window`, or MTLS_ERR_KUBE_API when too little is left. */
export function writeDeadline(what: string, window: WriteWindow): CallOptions {
  const left = window();
  if (!(left >= MIN_WRITE_MS)) {
    throw new InjectorError(ErrorCode.KubeApi, `not writing ${what}: this replica no longer leads`);
  }
  return { timeoutMs: Math.min(WRITE_TIMEOUT_MS, left) };
}
