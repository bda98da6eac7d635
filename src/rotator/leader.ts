import { apiStatus, type LeaseApi, type LeaseObject } from '../kube/types.js';
import type { Log } from '../observability/logger.js';
import { decideLease, type LeaseObservation, leaseFor, observe, releasedLease } from './leader-decision.js';
import type { Clock, TimerHandle, Timers } from './time.js';

/** Who leads: the rotator writes only while `isLeader()` is true, and no write outlives `validUntil()`. */
export interface Leadership {
  isLeader(): boolean;
  /**
   * Epoch ms until which this replica may act (its last renewal plus the renew deadline), 0 when it does not
   * lead. Every write is given a deadline before it, so none can land after a follower may have taken over.
   */
  validUntil(): number;
  /** Called with true on gaining and false on losing leadership. */
  onChange(listener: (leading: boolean) => void): void;
}

/** Where the lease is, who this candidate is, and its timing (seconds). */
export interface LeaderElectorOptions {
  readonly api: LeaseApi;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly log: Log;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection:
 *   - a follower judges expiry on its own clock: a lease whose record has not changed for leaseDuration since
 *     the follower first saw it (never the holder's renewTime, which is the holder's clock);
 *   - every write carries the resourceVersion it read, so two candidates can never both win a round;
 *   - every call has a deadline shorter than renewDeadline (and, while leading, before lastRenew +
 *     renewDeadline), so a call on a half-open connection cannot hang a round;
 *   - the leader stops acting at lastRenew + renewDeadline whatever its calls do: `isLeader()` turns false at
 *     that instant and a timer tells the listeners. renewDeadline < leaseDuration (the config refuses
 *     otherwise), so the leader has stopped before any follower can take over.
 * `stop()` releases the lease so a follower takes over at once.
 */
export class LeaderElector implements Leadership {
  private leading = false;
  private lastRenew = 0;
  private observation: LeaseObservation | undefined;
  private timer: TimerHandle | undefined;
  private stepDownTimer: TimerHandle | undefined;
  private stopped = false;
  private lease: LeaseObject | undefined;
  private readonly listeners: ((leading: boolean) => void)[] = [];

  constructor(private readonly opts: LeaderElectorOptions) {}

  private get renewDeadlineMs(): number {
    return this.opts.renewDeadlineSeconds * 1000;
  }

  isLeader(): boolean {
    return this.leading && this.opts.clock() < this.lastRenew + this.renewDeadlineMs;
  }

  validUntil(): number {
    return this.isLeader() ? this.lastRenew + this.renewDeadlineMs : 0;
  }

  onChange(listener: (leading: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Starts trying; returns at once. */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops trying and, when leading, releases the lease (within what is left of its hold). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.timers.clearTimeout(this.timer);
    if (this.isLeader() && this.lease !== undefined) {
      try {
        await this.opts.api.replace(releasedLease(this.lease, this.opts.clock()), {
          timeoutMs: this.callTimeout(),
        });
        this.opts.log.info({ lease: this.opts.name }, 'released leader lease');
      } catch (err) {
        this.opts.log.warn(
          { error: String(err) },
          'could not release leader lease; a follower takes over when it expires',
        );
      }
    }
    this.setLeading(false);
  }

  /** One round of acquire-or-renew; answers whether this candidate leads after it. `start()` runs one every retryPeriod. */
  async tryOnce(): Promise<boolean> {
    const { api, namespace, name, identity, leaseDurationSeconds, clock } = this.opts;
    const ref = { namespace, name, identity, durationSeconds: leaseDurationSeconds };
    try {
      const current = await api.get(namespace, name, { timeoutMs: this.callTimeout() });
      const now = clock();
      if (current !== undefined) this.observation = observe(current, this.observation, now);
      const action = decideLease(current, identity, this.observation, now);
      if (action.kind === 'follow') {
        this.setLeading(false);
        return false;
      }
      const next = leaseFor(current, action, ref, now);
      const options = { timeoutMs: this.callTimeout() };
      this.lease =
        action.kind === 'create' ? await api.create(next, options) : await api.replace(next, options);
      // Measured from before the write: the follower may have seen the new record no earlier than that.
      this.lastRenew = now;
      this.observation = observe(this.lease, undefined, now);
      if (action.kind === 'acquire' && action.previousHolder !== '') {
        this.opts.log.info({ previousHolder: action.previousHolder }, 'took over expired leader lease');
      }
      this.setLeading(true);
      this.armStepDown();
      return true;
    } catch (err) {
      const status = apiStatus(err);
      if (status !== 409) this.opts.log.warn({ error: String(err), status }, 'leader election round failed');
      this.stepDownIfLate();
      return this.isLeader();
    }
  }

  /**
   * The deadline of one election call: half the renew deadline, and while leading never past lastRenew +
   * renewDeadline (at least 1 ms, so a call is still made and fails fast).
   */
  private callTimeout(): number {
    const half = this.renewDeadlineMs / 2;
    if (!this.leading) return half;
    return Math.max(1, Math.min(half, this.lastRenew + this.renewDeadlineMs - this.opts.clock()));
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    await this.tryOnce();
    if (this.stopped) return;
    this.timer = this.opts.timers.setTimeout(() => void this.tick(), this.opts.retryPeriodSeconds * 1000);
  }

  /** Arms the timer that ends leadership at lastRenew + renewDeadline unless a renewal moves it. */
  private armStepDown(): void {
    this.opts.timers.clearTimeout(this.stepDownTimer);
    const at = this.lastRenew + this.renewDeadlineMs;
    this.stepDownTimer = this.opts.timers.setTimeout(
      () => this.stepDownIfLate(),
      Math.max(0, at - this.opts.clock()),
    );
  }

  private stepDownIfLate(): void {
    if (!this.leading || this.opts.clock() < this.lastRenew + this.renewDeadlineMs) return;
    this.opts.log.warn(
      { renewDeadlineSeconds: this.opts.renewDeadlineSeconds },
      'could not renew the leader lease within the renew deadline; stepping down',
    );
    this.setLeading(false);
  }

  private setLeading(leading: boolean): void {
    if (!leading) this.opts.timers.clearTimeout(this.stepDownTimer);
    if (leading === this.leading) return;
    this.leading = leading;
    for (const listener of this.listeners) listener(leading);
  }
}
