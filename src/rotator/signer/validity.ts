/**
 * The validity of a pod certificate, inside what the API server accepts for an Issued PodCertificateRequest
 * (k8s.io/kubernetes pkg/apis/certificates/validation, ValidatePodCertificateRequestStatusUpdate):
 *   - notBefore within 5 minutes of the API server's clock, so it is back-dated at most MAX_BACKDATE_SECONDS;
 *   - lifetime (notAfter − notBefore) at least 1 hour and at most spec.maxExpirationSeconds;
 *   - beginRefreshAt within [notBefore + 10 min, notAfter − 10 min];
 *   - metav1.Time, so every instant is a whole second.
 * Pure.
 */

/** Lifetime bounds and refresh margin the API server enforces, in seconds. */
export const MIN_LIFETIME_SECONDS = 3600;
export const REFRESH_MARGIN_SECONDS = 600;
/** Back-dating limit: the API server allows 5 minutes of distance from its clock; keep 30 s for skew. */
export const MAX_BACKDATE_SECONDS = 270;

/** What the validity is computed from. Times in epoch ms; durations in seconds. */
export interface ValidityInput {
  readonly now: number;
  /** podCertificate.backdate (clamped to MAX_BACKDATE_SECONDS). */
  readonly backdateSeconds: number;
  /** spec.maxExpirationSeconds of the request (the API server defaults it to 86400). */
  readonly requestedMaxSeconds: number;
  /** podCertificate.maxExpiration: the longest the signer grants. */
  readonly configMaxSeconds: number;
  /** The issuing CA's validity. */
  readonly caNotBefore: number;
  readonly caNotAfter: number;
  /** podCertificate.refreshAt ± renewJitter of the lifetime; `random` in [0, 1) places it. */
  readonly renewAt: number;
  readonly renewJitter: number;
  readonly random: number;
}

/** A validity to sign with, or why none fits. */
export type Validity =
  | {
      readonly ok: true;
      readonly notBefore: Date;
      readonly notAfter: Date;
      readonly beginRefreshAt: Date;
    }
  | { readonly ok: false; readonly reason: 'CAExpiresTooSoon' | 'CANotYetValid'; readonly message: string };

/**
 * notBefore = now − backdate (whole seconds, never before the CA's notBefore); notAfter = notBefore +
 * min(requested, configured), cut to the CA's notAfter; beginRefreshAt = notBefore + lifetime × (refreshAt ±
 * renewJitter), clamped into the API server's window. Refused when the CA leaves less than an hour or is not
 * valid yet.
 */
export function podCertificateValidity(input: ValidityInput): Validity {
  const now = Math.floor(input.now / 1000);
  const caNotBefore = Math.ceil(input.caNotBefore / 1000);
  const caNotAfter = Math.floor(input.caNotAfter / 1000);
  if (now < caNotBefore) {
    return {
      ok: false,
      reason: 'CANotYetValid',
      message: `the issuing CA is not valid before ${new Date(caNotBefore * 1000).toISOString()}; check the clock`,
    };
  }
  const backdate = Math.min(Math.max(0, Math.floor(input.backdateSeconds)), MAX_BACKDATE_SECONDS);
  const notBefore = Math.max(now - backdate, caNotBefore);
  const lifetime = Math.min(Math.floor(input.requestedMaxSeconds), Math.floor(input.configMaxSeconds));
  const notAfter = Math.min(notBefore + lifetime, caNotAfter);
  if (notAfter - notBefore < MIN_LIFETIME_SECONDS) {
    return {
      ok: false,
      reason: 'CAExpiresTooSoon',
      message: `the issuing CA expires at ${new Date(caNotAfter * 1000).toISOString()}, less than the 1 h a pod certificate must live; rotate the CA (mtls-injector ca rotate)`,
    };
  }
  const actual = notAfter - notBefore;
  const fraction = input.renewAt + input.renewJitter * (2 * input.random - 1);
  const wanted = notBefore + Math.round(actual * fraction);
  const beginRefreshAt = Math.min(
    Math.max(wanted, notBefore + REFRESH_MARGIN_SECONDS),
    notAfter - REFRESH_MARGIN_SECONDS,
  );
  return {
    ok: true,
    notBefore: new Date(notBefore * 1000),
    notAfter: new Date(notAfter * 1000),
    beginRefreshAt: new Date(beginRefreshAt * 1000),
  };
}
