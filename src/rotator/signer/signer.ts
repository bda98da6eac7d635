import type { Config } from '../../config/schema.js';
import { PCR_DENIED, PCR_FAILED, PCR_ISSUED } from '../../core/pod-certificate.js';
import {
  apiStatus,
  type EventTarget,
  type PodCertificateCondition,
  type PodCertificateRequestApi,
  type PodCertificateRequestObject,
  type PodObject,
} from '../../kube/types.js';
import type { CertOps } from '../ports.js';
import { podTarget, type Reporter } from '../reporter.js';
import type { Clock } from '../time.js';
import type { PodRevocation } from '../../model/pod-revocations.js';
import type { IssuedLeaf } from './issued.js';
import { podCertificateValidity } from './validity.js';
import { judgeRequest, podFacts, type PodFacts } from './verdict.js';
import { writeDeadline, type WriteWindow } from './write-window.js';

type Labels = Readonly<Record<string, string>>;

/** Work items of PodCertificateRequests: `pcr:<namespace>/<name>`. */
export const PCR_PREFIX = 'pcr:';

/** What the signer reads and writes; in tests, in-memory APIs and a fake clock. */
export interface SignerDeps {
  readonly config: Pick<Config, 'trustDomain' | 'renewAt' | 'renewJitter' | 'podCertificate'>;
  /** The served version, for Events about a request (`certificates.k8s.io/<version>`). */
  readonly apiVersion: string;
  readonly requests: PodCertificateRequestApi;
  /** Reads one pod from the API (raw JSON), for requests the pod cache cannot confirm. */
  readonly getPod: (namespace: string, name: string) => Promise<PodObject | undefined>;
  readonly certs: CertOps;
  readonly reporter: Reporter;
  readonly clock: Clock;
  readonly random: () => number;
  readonly excludedNamespaces: readonly string[];
  /** The labels of a namespace from the Namespace watch, and whether that watch has listed. */
  readonly namespaceLabels: (namespace: string) => Labels | undefined;
  readonly namespacesSynced: () => boolean;
  /** DNS SANs for a pod's labels in its namespace (the Services that select it). */
  readonly dnsNames: (namespace: string, labels: Labels) => string[];
  /** Queues a work item again (the controller's queue). */
  readonly enqueue: (item: string) => void;
  /**
   * How long this replica may still write, in ms: 0 once it no longer leads. Read right before each status
   * write, which is given a deadline within it (`writeDeadline`), so a replica that lost the Lease after taking
   * the item does not answer (startRotator wires it to `validUntil() - clock()` of the leadership).
   */
  readonly writeWindowMs: WriteWindow;
  /** Told every signed leaf: which pod, which CA, until when (the CA rotation record). */
  readonly onSigned?: (pod: PodFacts, issuerKeyId: string, notAfter: Date) => void;
  /** Told every signed leaf's serial and identity (the index revoked pods' serials are found in). */
  readonly onIssued?: (pod: PodFacts, leaf: IssuedLeaf) => void;
  /** The live revocation of a pod UID (mtls-injector revoke on a pod with pod certificates); none by default. */
  readonly revokedPod?: (uid: string) => PodRevocation | undefined;
  /** Whether the leader has read the revocation record since it leads; nothing is judged before (a denial is final). */
  readonly revocationsRead?: () => boolean;
}

/** A transient reason not to decide yet; the item is retried with backoff. */
class NotYet extends Error {}

/** Whether a request already carries a terminal condition (Issued, Denied or Failed): then it is immutable. */
export function isTerminal(pcr: PodCertificateRequestObject): boolean {
  return (pcr.status?.conditions ?? []).some(
    (c) => (c.type === PCR_ISSUED || c.type === PCR_DENIED || c.type === PCR_FAILED) && c.status === 'True',
  );
}

function itemOf(pcr: PodCertificateRequestObject): string | undefined {
  const { namespace, name } = pcr.metadata;
  return namespace === undefined || name === undefined ? undefined : `${PCR_PREFIX}${namespace}/${name}`;
}

/** metav1.Time: RFC 3339 in whole seconds. */
function rfc3339(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The Pod Certificates signer (docs/pod-certificates.md): for each PodCertificateRequest naming our signer that
 * has no terminal condition yet, checks the pod it names against the API (exists, same UID, service account
 * and node, namespace or pod opted in) and either signs the SPIFFE leaf for the requester's public key with the
 * active CA, or denies with a reason. One sync per request, through the controller's queue, so only the leader
 * signs. A terminal status is immutable, so nothing is decided on state that may be stale: a pod missing from
 * the cache, or another UID or node there, is read from the API first; namespaces must have been listed.
 */
export class PodCertificateSigner {
  private readonly pending = new Map<string, PodCertificateRequestObject>();
  private readonly pods = new Map<string, PodFacts>();

  constructor(private readonly deps: SignerDeps) {}

  /** The ItemKind the controller dispatches to this signer. */
  get kind(): { prefix: string; sync: (item: string) => Promise<void>; items: () => Iterable<string> } {
    return { prefix: PCR_PREFIX, sync: (item) => this.sync(item), items: () => this.pending.keys() };
  }

  /** Requests waiting for an answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** A request was added or changed on the watch: pending ones are queued, answered ones forgotten. */
  upsertRequest(pcr: PodCertificateRequestObject): void {
    const item = itemOf(pcr);
    if (item === undefined || pcr.spec.signerName !== this.deps.config.podCertificate.signerName) return;
    if (isTerminal(pcr)) {
      this.pending.delete(item);
      return;
    }
    this.pending.set(item, pcr);
    this.deps.enqueue(item);
  }

  removeRequest(pcr: PodCertificateRequestObject): void {
    const item = itemOf(pcr);
    if (item !== undefined) this.pending.delete(item);
  }

  /** A pod changed on the managed-pod watch: remembered to confirm requests without an API read. */
  upsertPod(pod: PodObject): void {
    const facts = podFacts(pod);
    if (facts !== undefined) this.pods.set(`${facts.namespace}/${facts.name}`, facts);
  }

  removePod(pod: PodObject): void {
    const { namespace, name } = pod.metadata;
    if (namespace !== undefined && name !== undefined) this.pods.delete(`${namespace}/${name}`);
  }

  /** One sync of one request: judge, then write one status. */
  async sync(item: string): Promise<void> {
    const pcr = this.pending.get(item);
    if (pcr === undefined) return;
    if (!this.deps.namespacesSynced()) throw new NotYet('namespaces not listed yet; not judging requests');
    if (this.deps.revocationsRead?.() === false)
      throw new NotYet('the revocation record not read yet; not judging requests');
    const namespace = pcr.metadata.namespace ?? '';
    const pod = await this.podFor(pcr);
    const verdict = judgeRequest(pcr, {
      trustDomain: this.deps.config.trustDomain,
      excludedNamespaces: this.deps.excludedNamespaces,
      namespaceLabels: this.deps.namespaceLabels(namespace),
      pod,
      revoked: this.deps.revokedPod?.(pcr.spec.podUID),
    });
    const request = `${namespace}/${pcr.metadata.name ?? ''}`;
    if (verdict.kind === 'deny') {
      await this.write(item, pcr, {
        conditions: [this.condition(PCR_DENIED, verdict.reason, verdict.message)],
      });
      this.deps.reporter.podCertificateDenied(
        this.target(pcr, verdict.pod),
        request,
        verdict.reason,
        verdict.message,
      );
      return;
    }
    const { podCertificate } = this.deps.config;
    const ca = this.deps.certs.activeValidity();
    const validity = podCertificateValidity({
      now: this.deps.clock(),
      backdateSeconds: podCertificate.backdate,
      requestedMaxSeconds: pcr.spec.maxExpirationSeconds ?? 86_400,
      configMaxSeconds: podCertificate.maxExpiration,
      caNotBefore: ca.notBefore.getTime(),
      caNotAfter: ca.notAfter.getTime(),
      renewAt: podCertificate.refreshAt,
      renewJitter: this.deps.config.renewJitter,
      random: this.deps.random(),
    });
    if (!validity.ok) {
      await this.write(item, pcr, {
        conditions: [this.condition(PCR_FAILED, validity.reason, validity.message)],
      });
      this.deps.reporter.podCertificateFailed(
        this.target(pcr, verdict.pod),
        request,
        validity.reason,
        validity.message,
      );
      return;
    }
    const leaf = this.deps.certs.signForKey({
      spiffeId: verdict.spiffeId,
      dnsNames: this.deps.dnsNames(namespace, verdict.pod.labels),
      publicKey: verdict.publicKey,
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
    });
    this.deps.onSigned?.(verdict.pod, leaf.issuerKeyId, validity.notAfter);
    this.deps.onIssued?.(verdict.pod, {
      serial: leaf.serialHex,
      issuer: leaf.issuerKeyId,
      notAfter: validity.notAfter,
      identity: verdict.spiffeId,
      pod: `${namespace}/${verdict.pod.name}`,
    });
    await this.write(item, pcr, {
      conditions: [
        this.condition(
          PCR_ISSUED,
          'Issued',
          `Signed for ${verdict.spiffeId} by mtls-injector (serial ${leaf.serialHex})`,
        ),
      ],
      certificateChain: leaf.certPem,
      notBefore: rfc3339(validity.notBefore),
      beginRefreshAt: rfc3339(validity.beginRefreshAt),
      notAfter: rfc3339(validity.notAfter),
    });
    this.deps.reporter.podCertificateIssued(
      this.target(pcr, verdict.pod),
      request,
      verdict.spiffeId,
      validity,
    );
  }

  /**
   * The pod a request names: from the managed-pod cache when it confirms UID and node, else read from the API
   * (a pod not labelled managed, one just created or bound, or gone).
   */
  private async podFor(pcr: PodCertificateRequestObject): Promise<PodFacts | undefined> {
    const namespace = pcr.metadata.namespace ?? '';
    const cached = this.pods.get(`${namespace}/${pcr.spec.podName}`);
    if (cached !== undefined && cached.uid === pcr.spec.podUID && cached.nodeName === pcr.spec.nodeName)
      return cached;
    const live = await this.deps.getPod(namespace, pcr.spec.podName);
    return live === undefined ? undefined : podFacts(live);
  }

  /**
   * Writes the status through /status. Gone (404): forgotten. Stale (409): re-read, and decided again unless
   * someone answered meanwhile (the error makes the controller retry at once).
   */
  private async write(
    item: string,
    pcr: PodCertificateRequestObject,
    status: NonNullable<PodCertificateRequestObject['status']>,
  ): Promise<void> {
    const request = `PodCertificateRequest ${pcr.metadata.namespace ?? ''}/${pcr.metadata.name ?? ''}`;
    const options = writeDeadline(`the status of ${request}`, this.deps.writeWindowMs);
    try {
      await this.deps.requests.updateStatus({ ...pcr, status }, options);
      this.pending.delete(item);
    } catch (err) {
      const code = apiStatus(err);
      if (code === 404) {
        this.pending.delete(item);
        return;
      }
      if (code === 409) {
        const fresh = await this.deps.requests.get(pcr.metadata.namespace ?? '', pcr.metadata.name ?? '');
        if (fresh === undefined || isTerminal(fresh)) {
          this.pending.delete(item);
          return;
        }
        this.pending.set(item, fresh);
      }
      throw err;
    }
  }

  private condition(type: string, reason: string, message: string): PodCertificateCondition {
    return {
      type,
      status: 'True',
      reason,
      message,
      lastTransitionTime: rfc3339(new Date(this.deps.clock())),
    };
  }

  /** Events go on the pod when it is known (judged, or cached with the request's UID), else on the request. */
  private target(pcr: PodCertificateRequestObject, pod: PodFacts | undefined): EventTarget {
    if (pod !== undefined) return podTarget(pod);
    const cached = this.pods.get(`${pcr.metadata.namespace ?? ''}/${pcr.spec.podName}`);
    if (cached !== undefined && cached.uid === pcr.spec.podUID) return podTarget(cached);
    return {
      kind: 'PodCertificateRequest',
      apiVersion: this.deps.apiVersion,
      namespace: pcr.metadata.namespace ?? '',
      name: pcr.metadata.name ?? '',
      ...(pcr.metadata.uid === undefined ? {} : { uid: pcr.metadata.uid }),
    };
  }
}
