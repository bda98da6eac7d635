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
