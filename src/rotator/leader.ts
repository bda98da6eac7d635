import { apiStatus, type LeaseApi, type LeaseObject } from '../kube/types.js';
import { decideLease, leaseFor, releasedLease } from './leader-decision.js';
import type { Clock } from './token-bucket.js';

/** Who leads: the rotator writes only while `isLeader()` is true. A static leader is passed in by tests. */
export interface Leadership {
  isLeader(): boolean;
  /** Called with true on gaining and false on losing leadership. */
  onChange(listener: (leading: boolean) => void): void;
}

export interface LeaderElectorOptions {
  readonly api: LeaseApi;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
  readonly clock: Clock;
  readonly log: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease. Every write carries the resourceVersion it read, so two
 * candidates can never both win; a leader that cannot renew within renewDeadline steps down before its lease
 * can expire, and `stop()` releases the lease so a follower takes over at once.
 */
export class LeaderElector implements Leadership {
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
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
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.leading && this.lease !== undefined) {
      try {
        await this.opts.api.replace(releasedLease(this.lease, this.opts.clock()));
        this.opts.log('info', 'released leader lease', { lease: this.opts.name });
      } catch (err) {
        this.opts.log('warn', 'could not release leader lease; a follower takes over when it expires', {
          error: String(err),
        });
      }
    }
    this.setLeading(false);
  }

  /** One round of acquire-or-renew; exposed for tests. */
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
        this.opts.log('info', 'took over expired leader lease', { previousHolder: action.previousHolder });
      }
      this.setLeading(true);
      return true;
    } catch (err) {
      const status = apiStatus(err);
      if (status !== 409)
        this.opts.log('warn', 'leader election round failed', { error: String(err), status });
      if (this.leading && clock() - this.lastRenew > this.opts.renewDeadlineSeconds * 1000) {
        this.opts.log('warn', 'could not renew the leader lease within the renew deadline; stepping down');
        this.setLeading(false);
      }
      return this.leading;
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    await this.tryOnce();
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.opts.retryPeriodSeconds * 1000);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    for (const listener of this.listeners) listener(leading);
  }
}

/** A leadership that never changes: for tests and single-replica runs. */
export function staticLeadership(leading: boolean): Leadership {
  return { isLeader: () => leading, onChange: () => undefined };
}
