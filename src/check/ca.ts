import { ErrorCode, isInjectorError } from '../core/errors.js';
import type { SecretObject } from '../kube/types.js';
import { readCaSecret } from '../model/ca-secret.js';
import type { TrustBundle } from '../model/trust-bundle.js';
import { readCertificateInfo } from '../pki/certificate-info.js';
import { pemBlocksOf } from '../pki/pem.js';
import { type CheckResult, fail, humanDuration, pass } from './result.js';

/** The CA must stay valid at least this long (check warns below it, fails once expired). */
export const CA_MIN_VALID_DAYS = 60;

const DAY_MS = 86_400_000;

/**
 * `ca`: the CA Secret loads (readCaSecret: key match, CA flags, validity) and stays valid for at least
 * `minValidDays`: a warning below that, an error once expired or unusable.
 */
export function checkCa(
  secret: SecretObject | undefined,
  where: string,
  now: Date,
  minValidDays = CA_MIN_VALID_DAYS,
): CheckResult {
  if (secret === undefined) {
    return fail(
      'ca',
      'error',
      'ca_missing',
      `CA Secret ${where} not found; nothing can be issued`,
      'the rotator generates it on first start (unless ca.bringYourOwn): is the rotator running? or pass --install-namespace / --ca-secret-name',
    );
  }
  let notAfter: Date;
  try {
    notAfter = readCaSecret(secret, now).active.notAfter;
  } catch (err) {
    if (!isInjectorError(err)) throw err;
    const expired = err.code === ErrorCode.PkiCaExpired;
    return fail(
      'ca',
      'error',
      expired ? 'ca_expired' : 'ca_invalid',
      err.message,
      expired
        ? 'no certificate can be issued or renewed: replace the CA now (mtls-injector ca rotate prepare, activate, retire; or a new bring-your-own CA)'
        : 'fix or replace the CA Secret; the rotator refuses to issue from it',
    );
  }
  const left = notAfter.getTime() - now.getTime();
  const message = `CA in Secret ${where} valid until ${notAfter.toISOString()} (${humanDuration(left)} left)`;
  if (left < minValidDays * DAY_MS) {
    return fail(
      'ca',
      'warning',
      'ca_expiring_soon',
      `${message}; less than ${minValidDays} days`,
      'rotate the CA before it expires: mtls-injector ca rotate prepare, then activate and retire',
    );
  }
  return pass('ca', 'ca_valid', message);
}

/**
 * `ca` from the trust-bundle ConfigMap the rotator publishes (never the CA Secret, which holds the key): the
 * CA lost (`ca_lost`, with what to do), not usable (`ca_invalid`, `ca_expired`, the rotator's reason), and the
 * issuing CA's validity from issuer.crt, with the same thresholds as `checkCa`.
 */
export function checkTrustBundle(
  bundle: TrustBundle,
  where: string,
  now: Date,
  minValidDays = CA_MIN_VALID_DAYS,
): CheckResult {
  if (bundle.lost !== undefined) {
    return fail(
      'ca',
      'error',
      'ca_lost',
      bundle.lost,
      'restore the CA Secret from a backup, or rotate to a new root that keeps trusting the old one (docs/runbooks/ca-missing.md)',
    );
  }
  if (bundle.problem !== undefined) {
    const expired = /expired/i.test(bundle.problem);
    return fail(
      'ca',
      'error',
      expired ? 'ca_expired' : 'ca_invalid',
      bundle.problem,
      expired
        ? 'no certificate can be issued or renewed: replace the CA now (mtls-injector ca rotate prepare, activate, retire; or a new bring-your-own CA)'
        : 'fix or replace the CA Secret; the rotator refuses to issue from it',
    );
  }
  let notAfter: Date;
  try {
    const [first] = pemBlocksOf(bundle.issuerPem, 'CERTIFICATE', `issuer.crt of ConfigMap ${where}`);
    if (first === undefined) throw new Error('no certificate');
    notAfter = readCertificateInfo(first, `issuer.crt of ConfigMap ${where}`).notAfter;
  } catch {
    return fail(
      'ca',
      'error',
      'ca_invalid',
      `ConfigMap ${where} holds no readable issuer.crt`,
      'the rotator publishes it once the CA is loaded: is the rotator running and leading?',
    );
  }
  const left = notAfter.getTime() - now.getTime();
  if (left <= 0) {
    return fail(
      'ca',
      'error',
      'ca_expired',
      `the issuing CA (issuer.crt of ConfigMap ${where}) expired at ${notAfter.toISOString()}`,
      'no certificate can be issued or renewed: replace the CA now (mtls-injector ca rotate prepare, activate, retire; or a new bring-your-own CA)',
    );
  }
  const message = `issuing CA (issuer.crt of ConfigMap ${where}) valid until ${notAfter.toISOString()} (${humanDuration(left)} left)`;
  if (left < minValidDays * DAY_MS) {
    return fail(
      'ca',
      'warning',
      'ca_expiring_soon',
      `${message}; less than ${minValidDays} days`,
      'rotate the CA before it expires: mtls-injector ca rotate prepare, then activate and retire',
    );
  }
  return pass('ca', 'ca_valid', message);
}
