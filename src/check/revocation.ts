/**
 * What `check` says about revocation: for the installation, the revocation record; for each pod, whether its
 * certificate is revoked (in the record or on the CRL its Secret carries) and whether that Secret's ca.crl is
 * readable, current and complete, with its nextUpdate. Pure.
 */
import { isInjectorError } from '../core/errors.js';
import { REVOCATIONS_CONFIGMAP } from '../core/names.js';
import { apiStatus, type ConfigMapApi } from '../kube/types.js';
import type { PodRevocation } from '../model/pod-revocations.js';
import {
  findRevocation,
  isExpiredEntry,
  readRevocationRecord,
  type RevocationEntry,
} from '../model/revocations.js';
import { type CrlFacts, leafRevocation } from '../pki/crl-check.js';
import { leafSummary } from '../pki/x509.js';
import { apiFailure, type CheckResult, fail, humanDuration, pass } from './result.js';

/** The record as `check` read it: its live entries, or why it could not be read. */
export type RecordLookup =
  | {
      readonly kind: 'read';
      readonly entries: readonly RevocationEntry[];
      /** Revoked pods with pod certificates. */
      readonly pods: readonly PodRevocation[];
    }
  | { readonly kind: 'error'; readonly result: CheckResult };

/** A revoked certificate, in `check -o json` as `certificate.revoked`. */
export interface RevokedFacts {
  readonly reason: string;
  readonly revokedAt: string;
  /** Who revoked it (from the record); null when only the CRL says so. */
  readonly by: string | null;
  /** Where check found it: the revocation record, or the CRL in the Secret's ca.crl. */
  readonly source: 'record' | 'crl';
}

/** The CRL in the Secret's ca.crl for the leaf's issuer, in `check -o json` as `certificate.crl`. */
export interface CrlView {
  readonly crlNumber: string | null;
  readonly thisUpdate: string;
  readonly nextUpdate: string | null;
  readonly entries: number;
}

const ROTATOR_HINT =
  'the rotator reissues revoked certificates and refreshes every ca.crl: is it running and leading? (kubectl -n <install namespace> logs deploy/mtls-injector-rotator)';

/** A warning once less than this share of the CRL's window is left before its nextUpdate. */
const CRL_LOW_WINDOW_FRACTION = 0.25;

/**
 * Reads the revocation record; a failed read or an unreadable record becomes the `revocations` check that
 * says why (a 403 is a warning, like every read of `check`).
 */
export async function readRevocationLookup(
  configMaps: Pick<ConfigMapApi, 'get'>,
  installNamespace: string,
): Promise<RecordLookup> {
  const what = `ConfigMap ${installNamespace}/${REVOCATIONS_CONFIGMAP}`;
  try {
    const record = readRevocationRecord(await configMaps.get(installNamespace, REVOCATIONS_CONFIGMAP));
    return { kind: 'read', entries: record.entries, pods: record.pods };
  } catch (err) {
    if (isInjectorError(err, 'MTLS_ERR_REVOKE_RECORD_INVALID')) {
      return {
        kind: 'error',
        result: fail(
          'revocations',
          'error',
          'revocations_unreadable',
          err.message,
          `restore ${what} from its last good version`,
        ),
      };
    }
    return { kind: 'error', result: apiFailure('revocations', what, err, apiStatus(err)) };
  }
}

/** `revocations`: the record in the install namespace could be read, and how many live entries it holds. */
export function checkRevocationRecord(
  record: RecordLookup,
  installNamespace: string,
  now: Date,
): CheckResult {
  if (record.kind === 'error') return record.result;
  const live = record.entries.filter((e) => !isExpiredEntry(e, now));
  return pass(
    'revocations',
    live.length === 0 ? 'no_revocations' : 'revocations_recorded',
    live.length === 0
      ? `no revoked certificate is still valid (ConfigMap ${installNamespace}/${REVOCATIONS_CONFIGMAP})`
      : `${live.length} revoked certificate(s) still within their validity, in ConfigMap ${installNamespace}/${REVOCATIONS_CONFIGMAP}`,
  );
}

/**
 * `certificate-revocation` and `crl` for one pod's Secret files: revoked in the record (by serial and issuer)
 * or on the Secret's own CRL is an error; ca.crl unreadable, forged or past its nextUpdate is an error, one
 * that lacks revocations the record holds for its issuer or nears its nextUpdate a warning.
 */
export function checkLeafRevocation(input: {
  readonly certChainPem: string;
  readonly trustBundlePem: string;
  readonly crlPem: string | undefined;
  /** Undefined when the record could not be read (its own check says why). */
  readonly entries: readonly RevocationEntry[] | undefined;
  /** `namespace/name` of the object the pod's ca.crl comes from. */
  readonly where: string;
  /** Its kind: the pod's Secret, or (podCertificate delivery) the namespace's ConfigMap. */
  readonly source?: 'Secret' | 'ConfigMap';
  readonly now: Date;
}): { checks: CheckResult[]; revoked: RevokedFacts | null; crl: CrlView | null } {
  const { now } = input;
  const where = `${input.source ?? 'Secret'} ${input.where}`;
  const leaf = leafSummary(input.certChainPem);
  if (leaf === undefined) return { checks: [], revoked: null, crl: null };
  const { status, problems } = leafRevocation({
    certChainPem: input.certChainPem,
    trustBundlePem: input.trustBundlePem,
    crlPem: input.crlPem,
    now,
  });
  const recorded =
    input.entries === undefined
      ? undefined
      : findRevocation(input.entries, leaf.serialHex, leaf.issuerKeyIdHex, now);
  let revoked: RevokedFacts | null = null;
  if (recorded !== undefined) {
    revoked = { reason: recorded.reason, revokedAt: recorded.revokedAt, by: recorded.by, source: 'record' };
  } else if (status.kind === 'revoked') {
    revoked = {
      reason: status.reason ?? 'unspecified',
      revokedAt: status.revokedAt.toISOString(),
      by: null,
      source: 'crl',
    };
  }
  const checks: CheckResult[] = [
    revoked === null
      ? pass('certificate-revocation', 'not_revoked', `serial ${leaf.serialHex} is not revoked`)
      : fail(
          'certificate-revocation',
          'error',
          'certificate_revoked',
          `serial ${leaf.serialHex} was revoked (${revoked.reason}) at ${revoked.revokedAt}` +
            `${revoked.by === null ? '' : ` by ${revoked.by}`}, per ${revoked.source === 'record' ? `the revocation record` : `ca.crl of ${where}`}; ` +
            'the pod still holds it: peers that check the CRL refuse it',
          ROTATOR_HINT,
        ),
  ];
  const crl = status.kind === 'no_crl' ? null : view(status.crl);
  checks.push(crlCheck(status, problems, input.entries, leaf.issuerKeyIdHex, where, now));
  return { checks, revoked, crl };
}

function crlCheck(
  status: ReturnType<typeof leafRevocation>['status'],
  problems: ReturnType<typeof leafRevocation>['problems'],
  entries: readonly RevocationEntry[] | undefined,
  issuer: string | undefined,
  where: string,
  now: Date,
): CheckResult {
  const fatal = problems.find((p) => p.code !== 'crl_not_yet_valid');
  if (fatal !== undefined) return fail('crl', 'error', fatal.code, fatal.message, ROTATOR_HINT);
  const pending = (entries ?? []).filter(
    (e) => (e.issuer === null || e.issuer === issuer) && !isExpiredEntry(e, now),
  );
  if (status.kind === 'no_crl') {
    if (entries === undefined) {
      return pass('crl', 'no_crl', `no CRL of the leaf's issuer in ${where} (${status.why})`);
    }
    if (pending.length === 0) {
      return pass(
        'crl',
        'no_crl_needed',
        `no CRL of the leaf's issuer in ${where} (${status.why}), and none of its certificates is revoked`,
      );
    }
    return fail(
      'crl',
      'warning',
      'crl_missing',
      `${where} carries no CRL of the leaf's issuer (${status.why}) while ${pending.length} of its certificate(s) are revoked; apps reading ca.crl from it cannot refuse them`,
      ROTATOR_HINT,
    );
  }
  const facts = status.crl;
  const missing = pending.filter((e) => !status.listed.has(e.serial));
  if (missing.length > 0) {
    const serials = missing.map((e) => e.serial);
    return fail(
      'crl',
      'warning',
      'crl_stale',
      `ca.crl of ${where} (CRL number ${facts.crlNumber ?? 'none'} of ${facts.thisUpdate.toISOString()}) lacks ` +
        `${missing.length} revocation(s) the record holds (serial ${serials.slice(0, 3).join(', ')}${serials.length > 3 ? ', …' : ''}); ` +
        'apps reading it still accept those',
      `${ROTATOR_HINT}; kubelets take a minute or two to refresh a mounted Secret`,
    );
  }
  const problem = problems.find((p) => p.code === 'crl_not_yet_valid');
  if (problem !== undefined)
    return fail(
      'crl',
      'warning',
      problem.code,
      problem.message,
      'check the clocks of this machine and the nodes',
    );
  const message = describeCrl(facts, where, now);
  if (facts.nextUpdate !== null) {
    const window = facts.nextUpdate.getTime() - facts.thisUpdate.getTime();
    if (facts.nextUpdate.getTime() - now.getTime() < window * CRL_LOW_WINDOW_FRACTION) {
      return fail(
        'crl',
        'warning',
        'crl_refresh_overdue',
        `${message}: less than ${CRL_LOW_WINDOW_FRACTION * 100} % of its window left; after nextUpdate apps that check CRLs refuse every certificate of this CA`,
        ROTATOR_HINT,
      );
    }
  }
  return pass('crl', 'crl_current', message);
}

function describeCrl(facts: CrlFacts, where: string, now: Date): string {
  const next =
    facts.nextUpdate === null
      ? 'no nextUpdate'
      : `next update ${facts.nextUpdate.toISOString()} (in ${humanDuration(facts.nextUpdate.getTime() - now.getTime())})`;
  return `ca.crl of ${where}: CRL number ${facts.crlNumber ?? 'none'}, ${facts.entries} revoked, ${next}`;
}

function view(facts: CrlFacts): CrlView {
  return {
    crlNumber: facts.crlNumber,
    thisUpdate: facts.thisUpdate.toISOString(),
    nextUpdate: facts.nextUpdate === null ? null : facts.nextUpdate.toISOString(),
    entries: facts.entries,
  };
}
