import { ErrorCode, InjectorError } from '../core/errors.js';
import { MANAGED_LABEL } from '../core/names.js';
import {
  apiStatus,
  type CallOptions,
  type EventTarget,
  type SecretApi,
  type SecretObject,
} from '../kube/types.js';
import { MAX_SECRET_BYTES, secretDataBytes } from '../model/secret-data.js';
import type { FirstIssueTrace } from './first-issue.js';
import type { Leadership } from './leader.js';
import type { Reporter } from './reporter.js';
import type { Clock } from './time.js';
import { TokenBucket } from './token-bucket.js';

/** Where the writer records what it wrote or re-read: the controller's watch handlers. */
export interface SecretObserver {
  /** A Secret as the API server now holds it; `ownWrite` when this writer just wrote it. */
  upsert(secret: SecretObject, ownWrite: boolean): void;
  remove(secret: SecretObject): void;
}

/** The longest a write may take (less when leadership ends sooner). */
export const WRITE_TIMEOUT_MS = 10_000;
/** A write is not started with less than this left of the leadership: it could not complete anyway. */
const MIN_WRITE_MS = 50;

/** What a create answered: the Secret written, or the one already there (and the 409 that said so). */
export type CreateResult =
  { readonly created: SecretObject } | { readonly exists: SecretObject; readonly conflict: unknown };

/**
 * Every Secret write of the rotator goes through here: refused before sending when larger than the API
 * server stores (faults D8), spaced by one token bucket (`rotator.writeQps`, `rotator.writeBurst`; faults
 * D3, F4), and recorded in the cache as written. A conflict re-reads the Secret so the next decision is made
 * on what is really there (faults F3, D5).
 */
export class SecretWriter {
  private readonly bucket: TokenBucket;

  constructor(
    private readonly deps: {
      readonly secrets: SecretApi;
      readonly writeQps: number;
      readonly writeBurst: number;
      readonly clock: Clock;
      readonly sleep: (ms: number) => Promise<void>;
      readonly reporter: Reporter;
      readonly observer: SecretObserver;
      /** Every write gets a deadline before `validUntil()`, so none can land after leadership is lost. */
      readonly leadership: Pick<Leadership, 'validUntil'>;
    },
  ) {
    this.bucket = new TokenBucket(deps.writeQps, deps.writeBurst, deps.clock);
  }

  /** Waits for a write token from the shared bucket. */
  async throttle(): Promise<void> {
    const wait = this.bucket.reserve();
    if (wait > 0) await this.deps.sleep(wait);
  }

  /**
   * Creates `secret`. On 409 AlreadyExists (ours from a lost answer, an earlier pod's, or a foreign one) it
   * reads what is there, records it when it is managed, and answers it for the caller to judge. `trace`
   * gets the time the request is handed to the client (after the write token).
   */
  async create(secret: SecretObject, target?: EventTarget, trace?: FirstIssueTrace): Promise<CreateResult> {
    const options = await this.beforeWrite(secret, target);
    if (trace !== undefined) trace.sent = this.deps.clock();
    try {
      const created = await this.deps.secrets.create(secret, options);
      this.deps.observer.upsert(created, true);
      return { created };
    } catch (err) {
      if (apiStatus(err) !== 409) throw err;
      const existing = await this.reread(secret);
      if (existing === undefined) throw err;
      if (existing.metadata.labels?.[MANAGED_LABEL] === 'true') this.deps.observer.upsert(existing, false);
      return { exists: existing, conflict: err };
    }
  }

  /**
   * Replaces `secret` (its resourceVersion guards the write). On 409 or 404 it re-reads the Secret into the
   * cache and rethrows, so the work item is retried on fresh state.
   */
  async replace(secret: SecretObject, target?: EventTarget): Promise<SecretObject> {
    const options = await this.beforeWrite(secret, target);
    try {
      const written = await this.deps.secrets.replace(secret, options);
      this.deps.observer.upsert(written, true);
      return written;
    } catch (err) {
      const status = apiStatus(err);
      if (status === 409 || status === 404) {
        const fresh = await this.reread(secret);
        if (fresh === undefined) this.deps.observer.remove(secret);
        else this.deps.observer.upsert(fresh, false);
      }
      throw err;
    }
  }

  /**
   * The size check, then a token, then the write's deadline: WRITE_TIMEOUT_MS, cut to what is left of this
   * replica's leadership. Refuses (MTLS_ERR_KUBE_API, retried later by the work queue) when too little is
   * left, and after losing leadership.
   */
  private async beforeWrite(secret: SecretObject, target: EventTarget | undefined): Promise<CallOptions> {
    this.refuseOversize(secret, target);
    await this.throttle();
    const left = this.deps.leadership.validUntil() - this.deps.clock();
    if (left < MIN_WRITE_MS) {
      throw new InjectorError(
        ErrorCode.KubeApi,
        `not writing Secret ${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}: this replica no longer leads`,
      );
    }
    return { timeoutMs: Math.min(WRITE_TIMEOUT_MS, left) };
  }

  /** The Secret as the API server holds it now. */
  private reread(secret: SecretObject): Promise<SecretObject | undefined> {
    return this.deps.secrets.get(secret.metadata.namespace ?? '', secret.metadata.name ?? '');
  }

  private refuseOversize(secret: SecretObject, target: EventTarget | undefined): void {
    const bytes = secretDataBytes(secret);
    if (bytes <= MAX_SECRET_BYTES) return;
    const message = `Secret ${secret.metadata.name ?? ''} would hold ${bytes} bytes; the API server stores at most ${MAX_SECRET_BYTES}. Shrink the trust bundle.`;
    this.deps.reporter.oversize(target, message);
    throw new InjectorError(ErrorCode.KubeSecretTooLarge, message);
  }
}
