import type { Clock } from './time.js';

/**
 * Token bucket for API writes (faults D3, F4): `ratePerSecond` steady, `burst` at most. `reserve()` takes a
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
