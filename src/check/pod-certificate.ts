/**
 * `check` for pods with podCertificate delivery (docs/pod-certificates.md): the delivery facts the rotator
 * published, and for each such pod the state of its newest PodCertificateRequest (issued, denied with the
 * signer's reason, failed, pending) with the issued leaf checked like a Secret's. The API server deletes
 * requests 15 minutes after creation (kube-controller-manager's podcertificaterequestcleaner), so a pod that
 * started long ago usually has none left to show; that is said, not flagged. Pure.
 */
import { type ClusterFacts, DELIVERY_LABEL, parseClusterFacts } from '../core/delivery.js';
import { PCR_DENIED, PCR_FAILED, PCR_ISSUED } from '../core/pod-certificate.js';
import type { ConfigMapObject, PodCertificateRequestObject, PodObject } from '../kube/types.js';
import { type CertificateFacts, certificateChecks } from './certificate.js';
import type { CrlView, RevokedFacts } from './revocation.js';
import { type CheckResult, fail, humanDuration, pass } from './result.js';

/** What `check -o json` says of a pod's pod certificate (`podCertificate`). */
export interface PodCertificateView {
  /** `namespace/name` of the newest request for this pod, null when none is visible. */
  readonly request: string | null;
  readonly state: 'Issued' | 'Denied' | 'Failed' | 'Pending' | null;
  readonly reason: string | null;
  readonly message: string | null;
  readonly notBefore: string | null;
  readonly beginRefreshAt: string | null;
  readonly notAfter: string | null;
  /** Requests of this pod still visible (refreshes add one each). */
  readonly requests: number;
  /** Set when the pod or its visible certificate is revoked (src/check/pod-certificate-revocation.ts). */
  readonly revoked?: RevokedFacts | null;
  /** The CRL the pod mounts as ca.crl (from the namespace's ConfigMap), when there is one. */
  readonly crl?: CrlView | null;
}

/** The requests of a pod as the runner read them. */
export type RequestLookup =
  | { readonly kind: 'found'; readonly requests: readonly PodCertificateRequestObject[] }
  | { readonly kind: 'error'; readonly result: CheckResult }
  /** The API server serves no PodCertificateRequests. */
  | { readonly kind: 'unserved' };

/** A request waiting longer than this for its answer is a warning (the signer answers within seconds). */
const PENDING_WARN_MS = 60_000;
const SIGNER_HINT =
  'the rotator signs within seconds while it leads: kubectl -n <install namespace> logs deploy/mtls-injector-rotator';

const DENIAL_HINTS: Readonly<Record<string, string>> = {
  UnsupportedKeyType: 'use keyType ECDSAP256 (or RSA3072, ED25519) in the podCertificate projection',
  NamespaceNotOptedIn: 'label the namespace mtls-injection=enabled, or remove the projection',
  PodUIDMismatch: 'the request names another pod of that name; the kubelet files a new one for this pod',
  PodNotFound: 'the pod is gone; nothing to do',
  InvalidUnverifiedUserAnnotations: 'remove userAnnotations from the podCertificate projection',
};

/** `delivery`: what the rotator found the API server serves, and what `delivery.mode` gives new pods. */
export function checkDelivery(
  mode: 'auto' | 'secret' | 'podCertificate',
  configMap: ConfigMapObject | undefined,
  where: string,
): { result: CheckResult; facts: ClusterFacts | undefined } {
  const text = configMap?.data?.['delivery.json'];
  if (text === undefined) {
    return {
      facts: undefined,
      result: fail(
        'delivery',
        'warning',
        'delivery_facts_missing',
        `the rotator has not published what the API server serves (ConfigMap ${where} ${configMap === undefined ? 'missing' : 'has no delivery.json'}); delivery.mode=auto gives Secrets until it has`,
        SIGNER_HINT,
      ),
    };
  }
  const parsed = parseClusterFacts(text);
  if (!parsed.ok) {
    return {
      facts: undefined,
      result: fail(
        'delivery',
        'warning',
        'delivery_facts_invalid',
        `ConfigMap ${where}: ${parsed.message}`,
        SIGNER_HINT,
      ),
    };
  }
  const { facts } = parsed;
  const found = `the rotator ${facts.detectedBy} found at ${facts.detectedAt} (Kubernetes ${facts.serverVersion})`;
  const served = facts.podCertificateRequests;
  const gives =
    mode === 'auto'
      ? served === null
        ? `delivery.mode=auto gives Secrets: no PodCertificateRequest API, as ${found}`
        : `delivery.mode=auto gives podCertificate volumes: ${served} PodCertificateRequests served, as ${found}`
      : `delivery.mode=${mode}; ${served === null ? 'no PodCertificateRequest API' : `${served} PodCertificateRequests served`}, as ${found}`;
  const bundle =
    facts.clusterTrustBundles === null
      ? 'no ClusterTrustBundles'
      : `ClusterTrustBundles ${facts.clusterTrustBundles}`;
  if (mode === 'podCertificate' && served === null) {
    return {
      facts,
      result: fail(
        'delivery',
        'error',
        'delivery_unavailable',
        `${gives}: every pod is refused`,
        'install with delivery.mode=auto or secret, or enable the PodCertificateRequest API',
      ),
    };
  }
  return {
    facts,
    result: pass(
      'delivery',
      mode === 'auto'
        ? served === null
          ? 'auto_secret'
          : 'auto_pod_certificate'
        : `mode_${mode === 'secret' ? 'secret' : 'pod_certificate'}`,
      `${gives}; ${bundle}; a namespace label ${DELIVERY_LABEL} chooses otherwise`,
    ),
  };
}

function condition(pcr: PodCertificateRequestObject) {
  return (pcr.status?.conditions ?? []).find(
    (c) => (c.type === PCR_ISSUED || c.type === PCR_DENIED || c.type === PCR_FAILED) && c.status === 'True',
  );
}

/** The pod's podCertificate checks, its certificate (when a request was issued) and the view for JSON. */
export function checkPodCertificate(input: {
  readonly pod: PodObject;
  readonly signerName: string;
  readonly requests: RequestLookup;
  readonly expectedSpiffeId: string | null;
  readonly clusterBundlePem: string | undefined;
  readonly trustDomain: string;
  readonly now: Date;
}): {
  checks: CheckResult[];
  certificate: CertificateFacts | null;
  view: PodCertificateView;
  /** The chain of the newest Issued request, when visible. */
  leafPem?: string;
} {
  const { pod, now } = input;
  const empty: PodCertificateView = {
    request: null,
    state: null,
    reason: null,
    message: null,
    notBefore: null,
    beginRefreshAt: null,
    notAfter: null,
    requests: 0,
  };
  if (input.requests.kind === 'error')
    return { checks: [input.requests.result], certificate: null, view: empty };
  if (input.requests.kind === 'unserved') {
    return {
      checks: [
        fail(
          'pod-certificate-request',
          'error',
          'pod_certificates_unserved',
          'the pod has a podCertificate volume, but the API server serves no PodCertificateRequest API: it never gets its files',
          'recreate the pod with secret delivery (label the namespace mtls-injector.io/delivery=secret)',
        ),
      ],
      certificate: null,
      view: empty,
    };
  }
  const mine = input.requests.requests
    .filter((r) => r.spec.podUID === pod.metadata.uid && r.spec.signerName === input.signerName)
    .sort(
      (a, b) =>
        Date.parse(String(b.metadata.creationTimestamp ?? '')) -
        Date.parse(String(a.metadata.creationTimestamp ?? '')),
    );
  const [newest] = mine;
  const started = pod.status?.phase === 'Running' || pod.status?.phase === 'Succeeded';
  if (newest === undefined) {
    return {
      checks: [
        started
          ? pass(
              'pod-certificate-request',
              'request_not_visible',
              'no PodCertificateRequest of this pod is left (the API server deletes them 15 minutes after creation); the pod started, so mtls-init verified its files',
            )
          : fail(
              'pod-certificate-request',
              'warning',
              'request_missing',
              'the pod has not started and no PodCertificateRequest of it exists yet; the kubelet files one when it mounts the volume',
              'kubectl describe pod: a FailedMount event names what the kubelet waits for',
            ),
      ],
      certificate: null,
      view: empty,
    };
  }
  const name = `${newest.metadata.namespace ?? ''}/${newest.metadata.name ?? ''}`;
  const cond = condition(newest);
  const status = newest.status ?? {};
  const view: PodCertificateView = {
    request: name,
    state: (cond?.type as PodCertificateView['state'] | undefined) ?? 'Pending',
    reason: cond?.reason ?? null,
    message: cond?.message ?? null,
    notBefore: status.notBefore ?? null,
    beginRefreshAt: status.beginRefreshAt ?? null,
    notAfter: status.notAfter ?? null,
    requests: mine.length,
  };
  if (cond === undefined) {
    const age = now.getTime() - Date.parse(String(newest.metadata.creationTimestamp ?? now.toISOString()));
    const message = `PodCertificateRequest ${name} waits for the signer (${humanDuration(Math.max(0, age))})`;
    return {
      checks: [
        age > PENDING_WARN_MS
          ? fail('pod-certificate-request', 'warning', 'request_pending', message, SIGNER_HINT)
          : pass('pod-certificate-request', 'request_pending', message),
      ],
      certificate: null,
      view,
    };
  }
  if (cond.type !== PCR_ISSUED) {
    const denied = cond.type === PCR_DENIED;
    return {
      checks: [
        fail(
          'pod-certificate-request',
          'error',
          denied ? 'request_denied' : 'request_failed',
          `PodCertificateRequest ${name} ${denied ? 'denied' : 'failed'} (${cond.reason ?? '?'}): ${cond.message ?? ''}; the pod does not start`,
          DENIAL_HINTS[cond.reason ?? ''] ?? SIGNER_HINT,
        ),
      ],
      certificate: null,
      view,
    };
  }
  const checks: CheckResult[] = [
    pass(
      'pod-certificate-request',
      'request_issued',
      `PodCertificateRequest ${name} issued: valid until ${status.notAfter ?? '?'}, the kubelet refreshes from ${status.beginRefreshAt ?? '?'}`,
    ),
  ];
  let certificate: CertificateFacts | null = null;
  if (input.clusterBundlePem !== undefined) {
    const leaf = certificateChecks({
      certChainPem: status.certificateChain ?? '',
      keyPem: undefined,
      bundlePem: input.clusterBundlePem,
      bundleName: "the cluster's trust bundle",
      expectedSpiffeId: input.expectedSpiffeId,
      trustDomain: input.trustDomain,
      now,
    });
    checks.push(...leaf.checks);
    certificate = leaf.certificate;
  }
  return {
    checks,
    certificate,
    view,
    ...(status.certificateChain ? { leafPem: status.certificateChain } : {}),
  };
}
