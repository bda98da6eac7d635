/**
 * Below this share of its lifetime left a certificate is overdue for renewal (renewal happens at about half):
 * the rotator's gauge mtls_injector_leaf_low_life_certificates and `check`'s renewal_overdue warning both use it.
 */
export const LOW_LIFE_FRACTION = 0.25;

/** Share of the lifetime still left at `now` (1 = fresh, 0 = expired or no lifetime at all). */
export function remainingLifeFraction(notBefore: Date, notAfter: Date, now: Date): number {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  if (lifetime <= 0) return 0;
  return Math.max(0, Math.min(1, (notAfter.getTime() - now.getTime()) / lifetime));
}

/** Whether less than LOW_LIFE_FRACTION of the certificate's lifetime is left at `now`. */
export function isLowOnLife(notBefore: Date, notAfter: Date, now: Date): boolean {
  return remainingLifeFraction(notBefore, notAfter, now) < LOW_LIFE_FRACTION;
}
