import { CA_FILE, CERT_FILE, KEY_FILE, MANAGED_LABEL } from '../core/names.js';
import type { SecretObject } from '../kube/types.js';
import { secretFile } from '../model/secret-data.js';
import {
  controllingPod,
  describeOwners,
  type SecretOwner,
  secretOwnership,
} from '../model/workload-secret.js';
import type { CrlSummary } from './crl-content.js';
import type { CertificateFacts, FileProblem } from './ports.js';

/** Why a Secret is (re)written: the `reason` field of the rotator's log line and of the renewal Event. */
export type ReissueReason =
  | 'missing'
  | 'previous_pod'
  | 'bad_content'
  | 'wrong_identity'
  | 'dns_names_changed'
  | 'issuer_rotated'
  | 'expired'
  | 'revoked'
  | 'due';

/** What to do with a pod's Secret. */
export type SecretVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'refresh_bundle' }
  | {
      readonly kind: 'reissue';
      readonly reason: ReissueReason;
      readonly detail: string;
      /** For `revoked`: when the revocation was recorded (epoch ms), for the revoke-to-reissue time. */
      readonly revokedAt?: number;
    }
  | { readonly kind: 'foreign'; readonly detail: string }
  /** Another pod that still exists owns the Secret: it stays with that pod (never re-pointed). */
  | { readonly kind: 'collision'; readonly owner: { readonly name: string; readonly uid: string } }
  | { readonly kind: 'immutable' };

/** What the Secret should hold for its pod. */
export interface DesiredIdentity {
  readonly owner: SecretOwner;
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly trustBundlePem: string;
  readonly issuerKeyId: string;
  /** The record's entry revoking a serial of the CA `issuerKeyId` names, if any (docs/revocation.md). */
  readonly revoked?:
    | ((
        serial: string,
        issuerKeyId: string,
      ) => { readonly reason: string; readonly revokedAt: string } | undefined)
    | undefined;
  /**
   * The `ca.crl` the Secret is to carry, and the nextUpdate (epoch ms) below which its copy is refreshed;
   * undefined while the leader has published none (ca.crl is then left as it is).
   */
  readonly crl?:
    { readonly pem: string; readonly summary: CrlSummary; readonly staleBefore: number } | undefined;
}

/** Facts about a Secret's contents, computed once per resourceVersion from the watch event. */
export interface SecretContent {
  readonly facts: CertificateFacts | undefined;
  readonly problems: readonly FileProblem[];
  /** What the Secret's ca.crl lists; undefined when it has none or it does not parse. */
  readonly crl?: CrlSummary | undefined;
}

/**
 * Decides, without I/O, what the rotator does with a pod's existing Secret: keep it, refresh only its
 * ca.crt, reissue it (and why), or leave it alone because it is not ours or belongs to another pod (faults
 * D1, F6, F7, F11). `renewDue` is true when the renewal schedule fired for it. `otherOwnerExists` says, for a
 * Secret whose controlling owner is another pod, whether that pod still exists: a Secret is handed to a new
 * pod only when the pod that owned it is gone.
 */
export function judgeSecret(
  secret: SecretObject,
  desired: DesiredIdentity,
  content: SecretContent,
  renewDue: boolean,
  otherOwnerExists = true,
): SecretVerdict {
  const ownership = secretOwnership(secret, desired.owner);
  if (ownership === 'other_pod' && otherOwnerExists) {
    const owner = controllingPod(secret);
    return { kind: 'collision', owner: { name: owner?.name ?? '', uid: owner?.uid ?? '' } };
  }
  if (ownership === 'not_managed') {
    return {
      kind: 'foreign',
      detail: `Secret exists without label ${MANAGED_LABEL}=true; it was not made by mtls-injector`,
    };
  }
  if (ownership === 'not_owned') {
    return {
      kind: 'foreign',
      detail: `Secret is owned by ${describeOwners(secret.metadata.ownerReferences ?? [])}, not by pod ${desired.owner.name}`,
    };
  }
  const previousPod = ownership === 'previous_pod' || ownership === 'other_pod';
  const verdict = contentVerdict(secret, desired, content, renewDue, previousPod);
  if (secret.immutable === true && verdict.kind !== 'ok') return { kind: 'immutable' };
  return verdict;
}

function contentVerdict(
  secret: SecretObject,
  desired: DesiredIdentity,
  content: SecretContent,
  renewDue: boolean,
  previousPod: boolean,
): SecretVerdict {
  if (previousPod) {
    return {
      kind: 'reissue',
      reason: 'previous_pod',
      detail: 'Secret belonged to an earlier pod that no longer exists',
    };
  }
  const first = content.problems[0];
  if (first !== undefined) {
    const reason: ReissueReason =
      first.code === 'expired'
        ? 'expired'
        : first.code === 'wrong_identity'
          ? 'wrong_identity'
          : 'bad_content';
    return { kind: 'reissue', reason, detail: first.message };
  }
  const facts = content.facts;
  if (facts === undefined)
    return { kind: 'reissue', reason: 'bad_content', detail: 'certificate could not be read' };
  const revoked = desired.revoked?.(facts.serial, facts.issuerKeyId);
  if (revoked !== undefined) {
    return {
      kind: 'reissue',
      reason: 'revoked',
      detail: `certificate ${facts.serial} was revoked (${revoked.reason}) at ${revoked.revokedAt}`,
      revokedAt: Date.parse(revoked.revokedAt),
    };
  }
  if (facts.spiffeId !== desired.spiffeId) {
    return {
      kind: 'reissue',
      reason: 'wrong_identity',
      detail: `expected ${desired.spiffeId}, got ${facts.spiffeId ?? 'none'}`,
    };
  }
  if (!sameNames(facts.dnsNames, desired.dnsNames)) {
    return {
      kind: 'reissue',
      reason: 'dns_names_changed',
      detail: `DNS names [${facts.dnsNames.join(', ')}] differ from the Services' [${desired.dnsNames.join(', ')}]`,
    };
  }
  if (facts.issuerKeyId !== desired.issuerKeyId) {
    return {
      kind: 'reissue',
      reason: 'issuer_rotated',
      detail: 'issued by a CA that is no longer the active one',
    };
  }
  if (renewDue) return { kind: 'reissue', reason: 'due', detail: 'renewal time reached' };
  if (!holdsBundle(secret, desired.trustBundlePem) || crlOutdated(content.crl, desired.crl))
    return { kind: 'refresh_bundle' };
  if (secretFile(secret, CERT_FILE) === undefined || secretFile(secret, KEY_FILE) === undefined) {
    return { kind: 'reissue', reason: 'bad_content', detail: 'tls.crt or tls.key missing' };
  }
  return { kind: 'ok' };
}

/**
 * Whether the Secret's ca.crt is exactly `bundlePem`. The base64 is compared first (the API server answers
 * canonical base64, so equal text means equal base64), decoding only when the two differ: one decode of a
 * bundle per Secret per check was a measurable share of a restart at 150,000 pods.
 */
function holdsBundle(secret: SecretObject, bundlePem: string): boolean {
  const data = secret.data?.[CA_FILE];
  if (data === undefined) return false;
  return data === base64Of(bundlePem) || secretFile(secret, CA_FILE) === bundlePem;
}

let lastBundle: string | undefined;
let lastBase64 = '';

/** base64 of the trust bundle, kept for the last one asked (every Secret is judged against the same one). */
function base64Of(bundlePem: string): string {
  if (bundlePem !== lastBundle) {
    lastBundle = bundlePem;
    lastBase64 = Buffer.from(bundlePem).toString('base64');
  }
  return lastBase64;
}

/** Whether the Secret's ca.crl (`have`) must be replaced by the published one: other serials, or near its end. */
function crlOutdated(have: CrlSummary | undefined, want: DesiredIdentity['crl']): boolean {
  if (want === undefined) return false;
  return have === undefined || have.content !== want.summary.content || have.nextUpdate < want.staleBefore;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sortedA = [...a].sort();
  const sortedB = [...b].sort();
  return sortedA.every((name, i) => name === sortedB[i]);
}
