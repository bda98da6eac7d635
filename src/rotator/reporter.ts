/**
 * Over 300 lines: the Reporter is the one place every outcome of the rotator (Secrets and Pod Certificates)
 * becomes an Event, a log line and a counter; keeping them together keeps their wording and reasons in step.
 */
import type { EventRecorder, EventTarget } from '../kube/types.js';
import type { Log } from '../observability/logger.js';
import type { FirstIssueTimings } from './first-issue.js';
import type { PodInfo } from './cache.js';

/** What a written certificate Secret was: the `kind` label of mtls_injector_certificates_issued_total. */
export type IssueKind = 'issued' | 'renewed' | 'reissued' | 'bundle_refreshed' | 'pod_certificate';

/** Counters the rotator bumps; gauges are derived from the controller's `stats()` at scrape time. */
export interface RotatorCounters {
  issued(kind: IssueKind): void;
  failed(reason: string): void;
  foreign(): void;
  /** A PodCertificateRequest was denied with `reason` (a Denied condition reason); optional for Secret-only use. */
  denied?(reason: string): void;
  /** Two live pods claim one Secret (mtls_injector_secret_collisions_total). */
  collision(): void;
}

/** The Event target of a pod. */
export function podTarget(pod: Pick<PodInfo, 'namespace' | 'name' | 'uid'>): EventTarget {
  return { kind: 'Pod', apiVersion: 'v1', namespace: pod.namespace, name: pod.name, uid: pod.uid };
}

/**
 * The one place the rotator tells what happened: each outcome is a Kubernetes Event on the object a user
 * looks at, a structured log line and a counter, always together and always worded the same. Messages name
 * objects, identities and times, never key material.
 */
export class Reporter {
  constructor(
    private readonly deps: {
      readonly events: EventRecorder;
      readonly log: Log;
      readonly counters: RotatorCounters;
    },
  ) {}

  /** A new Secret was created for `pod`; `timings`, when known, split the time since its first watch event. */
  issued(pod: PodInfo, spiffeId: string, notAfter: Date, timings?: FirstIssueTimings): void {
    this.deps.counters.issued('issued');
    this.deps.events.record(
      podTarget(pod),
      'Normal',
      'CertificateIssued',
      `Issued ${spiffeId} into Secret ${pod.secretName}, valid until ${notAfter.toISOString()}`,
    );
    this.deps.log.info(
      {
        namespace: pod.namespace,
        pod: pod.name,
        secret: pod.secretName,
        spiffeId,
        notAfter: notAfter.toISOString(),
        ...(timings === undefined ? {} : { timings }),
      },
      'certificate issued',
    );
  }

  /** `pod`'s certificate was renewed on schedule (`reason` due) or reissued for `reason`. */
  reissued(pod: PodInfo, spiffeId: string, reason: string, notAfter: Date): void {
    const kind = reason === 'due' ? 'renewed' : 'reissued';
    this.deps.counters.issued(kind);
    this.deps.events.record(
      podTarget(pod),
      'Normal',
      'CertificateRenewed',
      `Certificate for ${spiffeId} ${kind === 'renewed' ? 'renewed' : `reissued (${reason})`}, valid until ${notAfter.toISOString()}`,
    );
    this.deps.log.info(
      {
        namespace: pod.namespace,
        pod: pod.name,
        secret: pod.secretName,
        reason,
        notAfter: notAfter.toISOString(),
      },
      `certificate ${kind}`,
    );
  }

  /** Only ca.crt of `pod`'s Secret was rewritten (the trust bundle changed). */
  bundleRefreshed(): void {
    this.deps.counters.issued('bundle_refreshed');
  }

  /** `pod` names a Secret mtls-injector does not own; it is left alone. */
  foreign(pod: PodInfo, detail: string): void {
    this.deps.counters.foreign();
    this.deps.events.record(
      podTarget(pod),
      'Warning',
      'ForeignSecret',
      `Secret ${pod.secretName}: ${detail}; not overwritten. Delete or rename it, then recreate the pod.`,
    );
    this.deps.log.warn(
      { namespace: pod.namespace, pod: pod.name, secret: pod.secretName, reason: 'foreign_secret' },
      detail,
    );
  }

  /**
   * `pod` mounts a Secret whose controlling owner is another pod that still exists (`owner`). The Secret stays
   * with its owner; both pods get a Warning Event, so whoever looks at either sees it.
   */
  collision(pod: PodInfo, owner: { readonly name: string; readonly uid: string }): void {
    this.deps.counters.collision();
    this.deps.events.record(
      podTarget(pod),
      'Warning',
      'SecretCollision',
      `Secret ${pod.secretName} belongs to pod ${owner.name} (uid ${owner.uid}), which still exists; it stays with that pod and this pod gets no identity of its own. Delete this pod: its replacement gets a Secret of its own.`,
    );
    this.deps.events.record(
      podTarget({ namespace: pod.namespace, name: owner.name, uid: owner.uid }),
      'Warning',
      'SecretCollision',
      `Pod ${pod.name} (uid ${pod.uid}) also mounts this pod's Secret ${pod.secretName}; the Secret stays with this pod and is not handed over.`,
    );
    this.deps.log.warn(
      {
        namespace: pod.namespace,
        pod: pod.name,
        secret: pod.secretName,
        owner: owner.name,
        ownerUid: owner.uid,
        reason: 'secret_collision',
      },
      'two live pods mount one Secret; it stays with its owner',
    );
  }

  /**
   * No identity is issued for `pod`: its namespace is excluded, or not opted in (and the pod holds no sound
   * certificate of its own from before the opt-in was removed).
   */
  refused(pod: PodInfo, why: 'excluded_namespace' | 'not_opted_in'): void {
    this.deps.counters.failed(why);
    const message =
      why === 'excluded_namespace'
        ? `No identity issued: namespace ${pod.namespace} is never injected (kube-system, kube-node-lease and the install namespace are excluded), whatever labels the pod carries.`
        : `No identity issued: namespace ${pod.namespace} is not opted in (label it mtls-injection=enabled, or label the pod mtls-injection=enabled in a namespace without that label).`;
    this.deps.events.record(podTarget(pod), 'Warning', 'IssueRefused', message);
    this.deps.log.warn({ namespace: pod.namespace, pod: pod.name, reason: why }, message);
  }

  /** `pod`'s managed Secret is marked immutable and cannot be renewed. */
  immutable(pod: PodInfo): void {
    this.deps.counters.failed('immutable_secret');
    this.deps.events.record(
      podTarget(pod),
      'Warning',
      'IssueFailed',
      `Secret ${pod.secretName} is marked immutable and cannot be renewed; delete it and mtls-injector recreates it.`,
    );
    this.deps.log.warn(
      { namespace: pod.namespace, pod: pod.name, secret: pod.secretName, reason: 'immutable_secret' },
      'managed Secret is immutable',
    );
  }

  /** The leaf of `pod` was cut to the CA's notAfter (faults E3). */
  capped(pod: PodInfo): void {
    this.deps.log.warn(
      { namespace: pod.namespace, pod: pod.name, reason: 'ca_expires_first' },
      'leaf lifetime capped at the CA notAfter; rotate the CA',
    );
    this.deps.events.record(
      podTarget(pod),
      'Warning',
      'CertificateCapped',
      'Certificate lifetime cut to the CA notAfter; the CA expires soon and must be rotated.',
    );
  }

  /** A Secret was refused before writing because it is too large (faults D8); the write fails with `message`. */
  oversize(target: EventTarget | undefined, message: string): void {
    if (target !== undefined) this.deps.events.record(target, 'Warning', 'IssueFailed', message);
  }

  /** `pod`'s identity cannot be formed (its namespace or service account is no valid SPIFFE path). */
  invalidIdentity(pod: PodInfo, message: string): void {
    this.deps.counters.failed('invalid_identity');
    this.deps.log.warn({ namespace: pod.namespace, pod: pod.name, reason: 'invalid_identity' }, message);
  }

  /**
   * Work on `item` failed and is retried in `retryInMs`. A conflict is not reported (it is re-read and retried
   * at once). The pod, when there is one, gets an Event on the first failure and every tenth.
   */
  retrying(
    item: string,
    failure: {
      reason: string;
      status: number | undefined;
      attempt: number;
      retryInMs: number;
      message: string;
    },
    pod: PodInfo | undefined,
  ): void {
    this.deps.counters.failed(failure.reason);
    this.deps.log.warn(
      {
        item,
        reason: failure.reason,
        status: failure.status,
        attempt: failure.attempt,
        retryInMs: failure.retryInMs,
      },
      `issuing failed: ${failure.message}`,
    );
    if (pod !== undefined && (failure.attempt === 1 || failure.attempt % 10 === 0)) {
      this.deps.events.record(
        podTarget(pod),
        'Warning',
        'IssueFailed',
        `Could not write Secret ${pod.secretName} (${failure.reason}): ${failure.message}; retrying with backoff.`,
      );
    }
  }

  /** A PodCertificateRequest was signed: an Event on the pod it is for. */
  podCertificateIssued(
    target: EventTarget,
    request: string,
    spiffeId: string,
    times: { readonly notAfter: Date; readonly beginRefreshAt: Date },
  ): void {
    this.deps.counters.issued('pod_certificate');
    this.deps.events.record(
      target,
      'Normal',
      'PodCertificateIssued',
      `Signed PodCertificateRequest ${request} for ${spiffeId}, valid until ${times.notAfter.toISOString()}; the kubelet refreshes it from ${times.beginRefreshAt.toISOString()}`,
    );
    this.deps.log.info(
      {
        request,
        pod: target.kind === 'Pod' ? target.name : undefined,
        namespace: target.namespace,
        spiffeId,
        notAfter: times.notAfter.toISOString(),
        beginRefreshAt: times.beginRefreshAt.toISOString(),
      },
      'pod certificate issued',
    );
  }

  /** A PodCertificateRequest was denied (terminal): an Event on the pod, or on the request when no pod is known. */
  podCertificateDenied(target: EventTarget, request: string, reason: string, message: string): void {
    this.deps.counters.denied?.(reason);
    this.deps.events.record(
      target,
      'Warning',
      'PodCertificateDenied',
      `PodCertificateRequest ${request} denied (${reason}): ${message}`,
    );
    this.deps.log.warn(
      { request, namespace: target.namespace, reason },
      `pod certificate denied: ${message}`,
    );
  }

  /** A PodCertificateRequest could not be signed (terminal Failed condition, e.g. the CA expires too soon). */
  podCertificateFailed(target: EventTarget, request: string, reason: string, message: string): void {
    this.deps.counters.failed(reason);
    this.deps.events.record(
      target,
      'Warning',
      'PodCertificateFailed',
      `PodCertificateRequest ${request} failed (${reason}): ${message}`,
    );
    this.deps.log.error(
      { request, namespace: target.namespace, reason },
      `pod certificate failed: ${message}`,
    );
  }

  /** What the rotator found the API server serves was published for the webhook (delivery.mode=auto). */
  deliveryFactsPublished(configMap: string, facts: Readonly<Record<string, unknown>>): void {
    this.deps.log.info({ configMap, ...facts }, 'delivery facts published');
  }

  /** The trust bundle of pod certificates was written (a ClusterTrustBundle, or a namespace's ConfigMap). */
  trustBundlePublished(what: string, roots: number, crl = false): void {
    this.deps.counters.issued('bundle_refreshed');
    this.deps.log.info({ object: what, roots, crl }, 'pod certificate trust bundle published');
  }

  /** The webhook's serving certificate was written to its Secret. */
  servingCertificateWritten(
    secret: string,
    reason: string,
    notAfter: Date,
    dnsNames: readonly string[],
  ): void {
    this.deps.log.info(
      { secret, reason, notAfter: notAfter.toISOString(), dnsNames },
      'webhook serving certificate written',
    );
  }

  /** The caBundle of the MutatingWebhookConfiguration was set to the trust bundle. */
  caBundleUpdated(webhookConfiguration: string, entries: number): void {
    this.deps.log.info({ webhookConfiguration, entries }, 'caBundle updated');
  }

  /** The MutatingWebhookConfiguration does not exist (yet). */
  webhookConfigurationMissing(webhookConfiguration: string): void {
    this.deps.log.warn(
      { webhookConfiguration },
      'MutatingWebhookConfiguration not found; caBundle will be set when it exists',
    );
  }
}
