import { apiStatus, type LeaseApi, type LeaseObject } from '../kube/types.js';
import type { Log } from '../observability/logger.js';
import { decideLease, leaseFor, releasedLease } from './leader-decision.js';
import type { Clock, TimerHandle, Timers } from './time.js';

/** Who leads: the rotator writes only while `isLeader()` is true. */
export interface Leadership {
  isLeader(): boolean;
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
 * Leader election on a coordination.k8s.io/v1 Lease. Every write carries the resourceVersion it read, so two
 * candidates can never both win; a leader that cannot renew within renewDeadline steps down before its lease
 * can expire, and `stop()` releases the lease so a follower takes over at once.
 */
export class LeaderElector implements Leadership {
  private leading = false;
  private lastRenew = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private lease: LeaseObject | undefined;
  private readonly listeners: ((leading: boolean) => void)[] = [];

  constructor(private readonly opts: LeaderElectorOptions) {}

  isLeader(): boolean {
    return this.leading;
  }

  onChange(listener: (leading: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Starts trying; returns at once. */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops trying and, when leading, releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.timers.clearTimeout(this.timer);
    if (this.leading && this.lease !== undefined) {
      try {
        await this.opts.api.replace(releasedLease(this.lease, this.opts.clock()));
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
      const current = await api.get(namespace, name);
      const now = clock();
      const action = decideLease(current, identity, now);
      if (action.kind === 'follow') {
        this.setLeading(false);
        return false;
      }
      const next = leaseFor(current, action, ref, now);
      this.lease = action.kind === 'create' ? await api.create(next) : await api.replace(next);
      this.lastRenew = now;
      if (action.kind === 'acquire' && action.previousHolder !== '') {
        this.opts.log.info({ previousHolder: action.previousHolder }, 'took over expired leader lease');
      }
      this.setLeading(true);
      return true;
    } catch (err) {
      const status = apiStatus(err);
      if (status !== 409) this.opts.log.warn({ error: String(err), status }, 'leader election round failed');
      if (this.leading && clock() - this.lastRenew > this.opts.renewDeadlineSeconds * 1000) {
        this.opts.log.warn({}, 'could not renew the leader lease within the renew deadline; stepping down');
        this.setLeading(false);
      }
      return this.leading;
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    await this.tryOnce();
    if (this.stopped) return;
    this.timer = this.opts.timers.setTimeout(() => void this.tick(), this.opts.retryPeriodSeconds * 1000);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    for (const listener of this.listeners) listener(leading);
  }
}
