/** A clock in epoch milliseconds, passed in so tests control time. */
export type Clock = () => number;

/**
 * Token bucket for API writes (BAD-INPUTS D3/F4): `ratePerSecond` steady, `burst` at most. `reserve()` takes a
 * token and says how long to wait before using it, so callers never spin.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock();
  }

  /** Takes one token; returns the milliseconds to wait before the write may go (0 when one was free). */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }

  /** Tokens available now (negative while reservations are outstanding). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.clock();
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
  }
}

/**
 * Full-jitter exponential backoff (BAD-INPUTS D3): attempt 0 waits up to `baseMs`, doubling to at most `maxMs`.
 * `random` in [0, 1) is passed in.
 */
export function backoffDelay(attempt: number, random: number, baseMs = 500, maxMs = 60_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(ceiling / 2 + (random * ceiling) / 2);
}
