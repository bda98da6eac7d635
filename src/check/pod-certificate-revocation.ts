/**
 * `check` on revocation for a pod with pod certificates (docs/revocation.md, "Pods with pod certificates"):
 * whether the pod itself is revoked (the rotator evicts it and denies its requests), whether its visible leaf
 * is revoked, and the ca.crl it mounts from the namespace's ConfigMap (podCertificate.trustBundleConfigMap):
 * present, current, listing what the record revokes, with its nextUpdate. Pure.
 */
import type { PodRevocation } from '../model/pod-revocations.js';
import { findPodRevocation } from '../model/pod-revocations.js';
import { isExpiredEntry, type RevocationEntry } from '../model/revocations.js';
import { parseCrls } from '../pki/crl-reader.js';
import type { CertificateFacts } from './certificate.js';
import { checkPodCertificate, type PodCertificateView } from './pod-certificate.js';
import type { PodCheckInput } from './pod.js';
import { type CheckResult, fail, humanDuration, pass } from './result.js';
import { checkLeafRevocation, type CrlView, type RevokedFacts } from './revocation.js';

/** The namespace's ConfigMap as `check` read it: its ca.crl (undefined: none there), or why not. */
export type CrlLookup =
  | { readonly kind: 'found'; readonly pem: string | undefined }
  | { readonly kind: 'error'; readonly result: CheckResult };

const HINT =
  'the rotator copies ca.crl into the namespace ConfigMap on every new CRL: is it running and leading? (kubectl -n <install namespace> logs deploy/mtls-injector-rotator)';

/**
 * Everything `check` says of a pod with a podCertificate volume of our signer: its requests
 * (src/check/pod-certificate.ts), then revocation, folded into the certificate and the view.
 */
export function podCertificateReport(
  input: PodCheckInput,
  expectedSpiffeId: string | null,
): { checks: CheckResult[]; certificate: CertificateFacts | null; view: PodCertificateView } {
  const { pod, settings } = input;
  const result = checkPodCertificate({
    pod,
    signerName: settings.delivery.signerName,
    requests: input.requests ?? { kind: 'unserved' },
    expectedSpiffeId,
    clusterBundlePem: input.clusterBundlePem,
    trustDomain: settings.trustDomain,
    now: input.now,
  });
  const revocation = podCertificateRevocation({
    podUid: pod.metadata.uid,
    leafPem: result.leafPem,
    trustBundlePem: input.clusterBundlePem,
    crl: input.crl ?? { kind: 'found', pem: undefined },
    where: `${input.namespace}/${settings.delivery.trustBundleConfigMap}`,
    entries: input.revocations,
    revokedPods: input.revokedPods,
    now: input.now,
  });
  const { revoked, crl } = revocation;
  return {
    checks: [...result.checks, ...revocation.checks],
    certificate: result.certificate === null ? null : { ...result.certificate, revoked, crl },
    view: { ...result.view, revoked, crl },
  };
}

/** The revocation checks of a pod with pod certificates, and what `-o json` shows. */
export function podCertificateRevocation(input: {
  readonly podUid: string | undefined;
  /** The leaf of the newest Issued request, when one is visible. */
  readonly leafPem: string | undefined;
  readonly trustBundlePem: string | undefined;
  readonly crl: CrlLookup;
  /** `namespace/name` of the ConfigMap. */
  readonly where: string;
  /** The record (undefined when it could not be read: its own check says why). */
  readonly entries: readonly RevocationEntry[] | undefined;
  readonly revokedPods: readonly PodRevocation[] | undefined;
  readonly now: Date;
}): { checks: CheckResult[]; revoked: RevokedFacts | null; crl: CrlView | null } {
  const { now } = input;
  const checks: CheckResult[] = [];
  const pod =
    input.podUid === undefined || input.revokedPods === undefined
      ? undefined
      : findPodRevocation(input.revokedPods, input.podUid, now);
  let revoked: RevokedFacts | null =
    pod === undefined ? null : { reason: pod.reason, revokedAt: pod.revokedAt, by: pod.by, source: 'record' };
  if (pod !== undefined) {
    checks.push(
      fail(
        'certificate-revocation',
        'error',
        'pod_revoked',
        `the pod's certificates were revoked (${pod.reason}) at ${pod.revokedAt} by ${pod.by}: the rotator evicts it ` +
          'and denies its requests; its controller replaces it with a new pod and key',
        'a PodDisruptionBudget may hold the eviction back (RevokedPodEvictionBlocked Events); delete the pod to replace it now',
      ),
    );
  }
  const crlPem = input.crl.kind === 'found' ? input.crl.pem : undefined;
  if (input.leafPem !== undefined && input.trustBundlePem !== undefined && input.crl.kind === 'found') {
    const leaf = checkLeafRevocation({
      certChainPem: input.leafPem,
      trustBundlePem: input.trustBundlePem,
      crlPem,
      entries: input.entries,
      where: input.where,
      source: 'ConfigMap',
      now,
    });
    // A revoked pod already said so; the leaf's own "not revoked" would only contradict it.
    checks.push(
      ...leaf.checks.filter((c) => !(pod !== undefined && c.name === 'certificate-revocation' && c.ok)),
    );
    revoked = revoked ?? leaf.revoked;
    return { checks, revoked, crl: leaf.crl };
  }
  if (input.crl.kind === 'error') return { checks: [...checks, input.crl.result], revoked, crl: null };
  const { check, crl } = crlOnly(crlPem, input.where, input.entries, now);
  return { checks: [...checks, check], revoked, crl };
}

/** The ConfigMap's ca.crl judged without a leaf (its request is gone): present, parseable, current. */
function crlOnly(
  pem: string | undefined,
  where: string,
  entries: readonly RevocationEntry[] | undefined,
  now: Date,
): { check: CheckResult; crl: CrlView | null } {
  const live = (entries ?? []).filter((e) => !isExpiredEntry(e, now));
  const what = `ConfigMap ${where}`;
  if (pem === undefined || pem === '') {
    return {
      crl: null,
      check:
        live.length === 0
          ? pass('crl', 'no_crl_needed', `no ca.crl in ${what} yet, and no certificate is revoked`)
          : fail(
              'crl',
              'warning',
              'crl_missing',
              `no ca.crl in ${what} while ${live.length} certificate(s) are revoked; apps reading /var/run/mtls/ca.crl cannot refuse them`,
              HINT,
            ),
    };
  }
  let crls;
  try {
    crls = parseCrls(pem, `${what} ca.crl`);
  } catch (err) {
    return {
      crl: null,
      check: fail('crl', 'error', 'crl_unreadable', err instanceof Error ? err.message : String(err), HINT),
    };
  }
  const [first, ...rest] = crls;
  if (first === undefined)
    return {
      crl: null,
      check: fail('crl', 'error', 'crl_unreadable', `ca.crl of ${what} holds no CRL`, HINT),
    };
  const listed = new Set(crls.flatMap((c) => [...c.revoked.keys()]));
  const missing = live.filter((e) => !listed.has(e.serial));
  const nexts = crls.map((c) => c.nextUpdate?.getTime() ?? Infinity);
  const next = Math.min(...nexts);
  const newest = rest.reduce((a, c) => (c.thisUpdate > a.thisUpdate ? c : a), first);
  const crl: CrlView = {
    crlNumber: newest.crlNumber === undefined ? null : newest.crlNumber.toString(),
    thisUpdate: newest.thisUpdate.toISOString(),
    nextUpdate: Number.isFinite(next) ? new Date(next).toISOString() : null,
    entries: listed.size,
  };
  const message = `ca.crl of ${what}: ${crls.length} CRL(s), ${listed.size} revoked, ${Number.isFinite(next) ? `next update ${new Date(next).toISOString()} (in ${humanDuration(next - now.getTime())})` : 'no nextUpdate'}`;
  if (next <= now.getTime())
    return {
      crl,
      check: fail(
        'crl',
        'error',
        'crl_expired',
        `${message}: past its nextUpdate, apps that check CRLs refuse every certificate`,
        HINT,
      ),
    };
  if (missing.length > 0)
    return {
      crl,
      check: fail(
        'crl',
        'warning',
        'crl_stale',
        `${message}; it lacks ${missing.length} revocation(s) the record holds (serial ${missing
          .slice(0, 3)
          .map((e) => e.serial)
          .join(', ')}); apps reading it still accept those`,
        `${HINT}; kubelets take a minute or two to refresh a mounted ConfigMap`,
      ),
    };
  return { crl, check: pass('crl', 'crl_current', message) };
}
