import { RenewalQueue } from './renewal-queue.js';

/** Renewal policy: when a certificate is due, as pure functions of its validity window and a random draw. */
export interface RenewalPolicy {
  /** Fraction of the lifetime after which a certificate is renewed (0.5 = half-way). */
  readonly renewAt: number;
  /** Random spread around renewAt, as a fraction of the lifetime (0.1 = ±10 %). */
  readonly jitter: number;
}

/**
 * When to renew a certificate valid from `notBefore` to `notAfter`: at renewAt of its lifetime, moved by
 * up to ±jitter of the lifetime. `random` is a draw from [0, 1) passed in so the schedule is reproducible in
 * tests; the spread keeps 10,000 certificates issued together from renewing together.
 */
export function renewalTime(notBefore: Date, notAfter: Date, policy: RenewalPolicy, random: number): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const fraction = policy.renewAt + (2 * random - 1) * policy.jitter;
  return new Date(notBefore.getTime() + lifetime * fraction);
}

/**
 * When each managed Secret is renewed, by Secret key: renewal times from each certificate's own validity in a
 * min-heap, and the keys whose time has come (`isDue`) until their Secret is written again.
 */
export class RenewalSchedule {
  private readonly times = new RenewalQueue();
  private readonly due = new Set<string>();

  constructor(
    private readonly policy: RenewalPolicy,
    private readonly random: () => number,
  ) {}

  /** A Secret was (re)written: not due any more; renewed again at the time its validity gives, when known. */
  set(key: string, validity: { readonly notBefore: Date; readonly notAfter: Date } | undefined): void {
    this.due.delete(key);
    if (validity === undefined) return;
    this.times.upsert(
      key,
      renewalTime(validity.notBefore, validity.notAfter, this.policy, this.random()).getTime(),
    );
  }

  /** A Secret is gone. */
  remove(key: string): void {
    this.due.delete(key);
    this.times.remove(key);
  }

  /** Marks due, and answers, every key whose renewal time is at or before `now`. */
  popDue(now: number): string[] {
    const keys = this.times.popDue(now);
    for (const key of keys) this.due.add(key);
    return keys;
  }

  isDue(key: string): boolean {
    return this.due.has(key);
  }

  /** Epoch ms of the next renewal, if any. */
  next(): number | undefined {
    return this.times.peekDue();
  }
}
