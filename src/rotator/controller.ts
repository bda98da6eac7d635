import type { Config } from '../config/schema.js';
import { workloadIdentity } from '../core/identity.js';
import { CA_FILE, CERT_FILE, KEY_FILE, MANAGED_LABEL, SECRET_ANNOTATION } from '../core/names.js';
import {
  apiStatus,
  type EventRecorder,
  type EventTarget,
  objectKey,
  type PodObject,
  type SecretApi,
  type SecretObject,
  type ServiceObject,
} from '../kube/types.js';
import type { Leadership } from './leader.js';
import type { CertOps, IssuedIdentity } from './ports.js';
import { RenewalQueue } from './renewal-queue.js';
import { remainingLifeFraction } from '../model/lifetime.js';
import { renewalTime } from './schedule.js';
import { buildWorkloadSecret } from '../model/workload-secret.js';
import { MAX_SECRET_BYTES, secretDataBytes, secretFile } from '../model/secret-data.js';
import { tlsData } from '../model/workload-secret.js';
import { type DesiredIdentity, judgeSecret, type SecretContent } from './secret-verdict.js';
import { backoffDelay, type Clock, TokenBucket } from './token-bucket.js';
import { WorkQueue } from './work-queue.js';

/** The structured logger the rotator writes to (pino's shape). */
export interface Log {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  debug(fields: Record<string, unknown>, msg: string): void;
}

/** Counters the controller bumps; gauges are derived from `stats()` at scrape time. */
export interface RotatorCounters {
  issued(kind: 'issued' | 'renewed' | 'reissued' | 'bundle_refreshed'): void;
  failed(reason: string): void;
  foreign(): void;
}

export interface RotatorDeps {
  readonly config: Config;
  readonly secrets: SecretApi;
  readonly events: EventRecorder;
  readonly certs: CertOps;
  readonly leadership: Leadership;
  readonly clock: Clock;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly counters: RotatorCounters;
  readonly log: Log;
}

interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly serviceAccount: string;
  readonly secretName: string;
  readonly labels: Readonly<Record<string, string>>;
}

interface SecretInfo {
  readonly object: SecretObject;
  content: SecretContent | undefined;
  readonly notBefore: Date | undefined;
  readonly notAfter: Date | undefined;
}

/** Work item for the webhook's own serving certificate and caBundle. */
export const WEBHOOK_ITEM = 'webhook';
const POD_PREFIX = 'pod:';
/** Work items in flight at once during a drain. */
const WORKERS = 8;

/**
 * The rotator's controller: turns pods the webhook marked into Secrets owned by those pods, keeps every
 * Secret renewed on a schedule derived from its own notAfter, refreshes ca.crt when the trust bundle
 * changes, and never overwrites a Secret it does not own. All state it acts on comes from watch events and
 * the API, so a restart at any point converges (BAD-INPUTS F1/F2). Only the leader writes.
 */
export class RotatorController {
  private readonly pods = new Map<string, PodInfo>();
  /** Managed Secrets by namespace/name, as last seen on the watch. */
  private readonly secrets = new Map<string, SecretInfo>();
  /** Secret key → pod key, for the pods we track. */
  private readonly podBySecret = new Map<string, string>();
  /** namespace → service name → selector */
  private readonly services = new Map<string, Map<string, Readonly<Record<string, string>>>>();
  /** Secret keys whose renewal time has come. */
  private readonly due = new Set<string>();
  private readonly queue = new WorkQueue();
  /** Renewal times of managed Secrets, by Secret key. */
  private readonly renewals = new RenewalQueue();
  private readonly bucket: TokenBucket;
  private readonly webhookSecretKey: string;
  private webhookStep: (() => Promise<void>) | undefined;

  constructor(private readonly deps: RotatorDeps) {
    this.bucket = new TokenBucket(deps.config.rotator.writeQps, deps.config.rotator.writeBurst, deps.clock);
    this.webhookSecretKey = objectKey(deps.config.installNamespace, deps.config.webhook.tlsSecretName);
    deps.leadership.onChange((leading) => {
      if (leading) this.resyncAll();
    });
  }

  /**
   * Registers the webhook-serving-certificate step, run for the WEBHOOK_ITEM work item: at start, when its
   * Secret changes or falls due, when the trust bundle changes, and every minute to re-check the caBundle.
   */
  setWebhookStep(step: () => Promise<void>): void {
    this.webhookStep = step;
    this.queue.add(WEBHOOK_ITEM);
  }

  /** Whether the webhook serving certificate's renewal time has come. */
  webhookDue(): boolean {
    return this.due.has(this.webhookSecretKey);
  }

  // ---- watch handlers -------------------------------------------------------------------------------

  /** A pod was added or changed on the watch of pods labelled mtls-injector.io/managed=true. */
  upsertPod(pod: PodObject): void {
    const info = podInfo(pod);
    const key =
      pod.metadata.namespace !== undefined && pod.metadata.name !== undefined
        ? podKey(pod.metadata.namespace, pod.metadata.name)
        : undefined;
    if (key === undefined) return;
    if (info === undefined) {
      this.removePodKey(key);
      return;
    }
    const previous = this.pods.get(key);
    this.pods.set(key, info);
    this.podBySecret.set(objectKey(info.namespace, info.secretName), key);
    if (previous === undefined || previous.uid !== info.uid || !sameLabels(previous.labels, info.labels)) {
      this.queue.add(key);
    }
  }

  /** A pod was deleted: its Secret goes with it (garbage collector); stop tracking. */
  removePod(pod: PodObject): void {
    if (pod.metadata.namespace === undefined || pod.metadata.name === undefined) return;
    this.removePodKey(podKey(pod.metadata.namespace, pod.metadata.name));
  }

  /** A managed Secret was added or changed: remember its validity and schedule its renewal. */
  upsertSecret(secret: SecretObject, ownWrite = false): void {
    const { namespace, name } = secret.metadata;
    if (namespace === undefined || name === undefined) return;
    const key = objectKey(namespace, name);
    const known = this.secrets.get(key);
    if (known?.object.metadata.resourceVersion === secret.metadata.resourceVersion && known !== undefined)
      return;
    const certPem = secretFile(secret, CERT_FILE);
    const facts = certPem === undefined ? undefined : this.deps.certs.inspect(certPem);
    const parsed = facts !== undefined && 'notAfter' in facts ? facts : undefined;
    this.secrets.set(key, {
      object: secret,
      content: undefined,
      notBefore: parsed?.notBefore,
      notAfter: parsed?.notAfter,
    });
    this.due.delete(key);
    const owner = this.podBySecret.get(key) ?? (key === this.webhookSecretKey ? WEBHOOK_ITEM : undefined);
    if (parsed !== undefined) {
      const at = renewalTime(parsed.notBefore, parsed.notAfter, this.policy(), this.deps.random());
      this.renewals.upsert(key, at.getTime());
    }
    if (owner !== undefined && !ownWrite) this.queue.add(owner);
  }

  /** A managed Secret was deleted: recreate it if its pod still runs (BAD-INPUTS F6). */
  removeSecret(secret: SecretObject): void {
    const { namespace, name } = secret.metadata;
    if (namespace === undefined || name === undefined) return;
    const key = objectKey(namespace, name);
    this.secrets.delete(key);
    this.due.delete(key);
    this.renewals.remove(key);
    const owner = this.podBySecret.get(key) ?? (key === this.webhookSecretKey ? WEBHOOK_ITEM : undefined);
    if (owner !== undefined) this.queue.add(owner);
  }

  /** A Service changed: pods it selects (before or after) may need other DNS SANs. */
  upsertService(service: ServiceObject): void {
    const { namespace, name } = service.metadata;
    if (namespace === undefined || name === undefined) return;
    const inNamespace = this.services.get(namespace) ?? new Map<string, Readonly<Record<string, string>>>();
    const before = inNamespace.get(name);
    const after = service.spec?.selector ?? {};
    inNamespace.set(name, after);
    this.services.set(namespace, inNamespace);
    this.requeueSelected(namespace, [before, after]);
  }

  removeService(service: ServiceObject): void {
    const { namespace, name } = service.metadata;
    if (namespace === undefined || name === undefined) return;
    const before = this.services.get(namespace)?.get(name);
    this.services.get(namespace)?.delete(name);
    this.requeueSelected(namespace, [before]);
  }

  /** The trust bundle or the active CA changed: every Secret gets checked again (ca.crt refresh, reissue). */
  trustChanged(): void {
    for (const info of this.secrets.values()) info.content = undefined;
    this.resyncAll();
  }

  // ---- running --------------------------------------------------------------------------------------

  /** Moves due renewals and retries into the work queue. */
  tick(): void {
    const now = this.deps.clock();
    for (const key of this.renewals.popDue(now)) {
      this.due.add(key);
      const owner = this.podBySecret.get(key) ?? (key === this.webhookSecretKey ? WEBHOOK_ITEM : undefined);
      if (owner !== undefined) this.queue.add(owner);
    }
    this.queue.promote(now);
  }

  /** Epoch ms of the next renewal or retry, for the runner's timer. */
  nextWakeup(): number | undefined {
    const candidates = [this.renewals.peekDue(), this.queue.nextDelayed()].filter(
      (t): t is number => t !== undefined,
    );
    return candidates.length === 0 ? undefined : Math.min(...candidates);
  }

  /**
   * Processes queued work until none is ready, with up to WORKERS keys in flight (never the same key twice:
   * the queue guarantees it). API round trips, not CPU, bound a burst of new pods, so writes overlap; the
   * token bucket still spaces them. Followers leave the queue alone.
   */
  async drain(): Promise<void> {
    const worker = async (): Promise<void> => {
      while (this.deps.leadership.isLeader()) {
        const key = this.queue.take();
        if (key === undefined) return;
        try {
          await this.process(key);
          this.queue.succeeded(key);
        } catch (err) {
          this.retryLater(key, err);
        } finally {
          this.queue.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
  }

  /** Figures for metrics, readiness and `check`. */
  stats(): { queueDepth: number; managed: number; soonestExpiry: number; lowLife: number; pods: number } {
    const now = new Date(this.deps.clock());
    let soonest = Number.POSITIVE_INFINITY;
    let lowLife = 0;
    for (const info of this.secrets.values()) {
      if (info.notAfter === undefined || info.notBefore === undefined) continue;
      soonest = Math.min(soonest, info.notAfter.getTime());
      if (remainingLifeFraction(info.notBefore, info.notAfter, now) < 0.25) lowLife += 1;
    }
    return {
      queueDepth: this.queue.depth + this.queue.delayedDepth,
      managed: this.secrets.size,
      soonestExpiry: Number.isFinite(soonest) ? soonest / 1000 : 0,
      lowLife,
      pods: this.pods.size,
    };
  }

  /** Writes wait for a token from the shared bucket (BAD-INPUTS D3, F4). */
  async throttle(): Promise<void> {
    const wait = this.bucket.reserve();
    if (wait > 0) await this.deps.sleep(wait);
  }

  // ---- reconcile ------------------------------------------------------------------------------------

  private async process(key: string): Promise<void> {
    if (key === WEBHOOK_ITEM) {
      if (this.webhookStep === undefined) return;
      this.queue.addAt(WEBHOOK_ITEM, this.deps.clock() + 60_000);
      await this.webhookStep();
      return;
    }
    const pod = this.pods.get(key);
    if (pod === undefined) return;
    await this.reconcilePod(pod);
  }

  private async reconcilePod(pod: PodInfo): Promise<void> {
    const desired = this.desiredFor(pod);
    if (desired === undefined) return;
    const secretKey = objectKey(pod.namespace, pod.secretName);
    const cached = this.secrets.get(secretKey);
    if (cached === undefined) {
      await this.create(pod, desired);
      return;
    }
    await this.reconcileExisting(pod, desired, cached.object);
  }

  private async reconcileExisting(
    pod: PodInfo,
    desired: DesiredIdentity,
    secret: SecretObject,
  ): Promise<void> {
    const secretKey = objectKey(pod.namespace, pod.secretName);
    const verdict = judgeSecret(
      secret,
      desired,
      this.contentOf(secretKey, secret, desired),
      this.due.has(secretKey),
    );
    const target = podTarget(pod);
    switch (verdict.kind) {
      case 'ok':
        return;
      case 'foreign':
        this.deps.counters.foreign();
        this.deps.events.record(
          target,
          'Warning',
          'ForeignSecret',
          `Secret ${pod.secretName}: ${verdict.detail}; not overwritten. Delete or rename it, then recreate the pod.`,
        );
        this.deps.log.warn(
          { namespace: pod.namespace, pod: pod.name, secret: pod.secretName, reason: 'foreign_secret' },
          verdict.detail,
        );
        return;
      case 'immutable':
        this.deps.counters.failed('immutable_secret');
        this.deps.events.record(
          target,
          'Warning',
          'IssueFailed',
          `Secret ${pod.secretName} is marked immutable and cannot be renewed; delete it and mtls-injector recreates it.`,
        );
        this.deps.log.warn(
          { namespace: pod.namespace, pod: pod.name, secret: pod.secretName, reason: 'immutable_secret' },
          'managed Secret is immutable',
        );
        return;
      case 'refresh_bundle': {
        const data = { ...(secret.data ?? {}), ...pickCa(desired.trustBundlePem) };
        await this.replace({ ...secret, data }, pod);
        this.deps.counters.issued('bundle_refreshed');
        return;
      }
      case 'reissue': {
        const { issued, secret: next } = await this.issueSecret(
          pod,
          desired,
          secret.metadata.resourceVersion,
        );
        await this.replace(next, pod);
        const kind = verdict.reason === 'due' ? 'renewed' : 'reissued';
        this.deps.counters.issued(kind);
        this.deps.events.record(
          target,
          'Normal',
          'CertificateRenewed',
          `Certificate for ${desired.spiffeId} ${kind === 'renewed' ? 'renewed' : `reissued (${verdict.reason})`}, valid until ${issued.notAfter.toISOString()}`,
        );
        this.deps.log.info(
          {
            namespace: pod.namespace,
            pod: pod.name,
            secret: pod.secretName,
            reason: verdict.reason,
            notAfter: issued.notAfter.toISOString(),
          },
          `certificate ${kind}`,
        );
        return;
      }
    }
  }

  /** Issues a certificate for `pod` and builds its Secret (with `resourceVersion` for an update). */
  private async issueSecret(
    pod: PodInfo,
    desired: DesiredIdentity,
    resourceVersion?: string,
  ): Promise<{ issued: IssuedIdentity; secret: SecretObject }> {
    const issued = await this.deps.certs.issue({ spiffeId: desired.spiffeId, dnsNames: desired.dnsNames });
    this.warnIfCapped(pod, issued.capped);
    const secret = buildWorkloadSecret(
      pod.secretName,
      desired.owner,
      desired.spiffeId,
      issued,
      desired.trustBundlePem,
      resourceVersion,
    );
    return { issued, secret };
  }

  private async create(pod: PodInfo, desired: DesiredIdentity): Promise<void> {
    const { issued, secret } = await this.issueSecret(pod, desired);
    this.refuseOversize(secret, pod);
    await this.throttle();
    try {
      const created = await this.deps.secrets.create(secret);
      this.upsertSecret(created, true);
    } catch (err) {
      if (apiStatus(err) !== 409) throw err;
      // AlreadyExists: ours from a lost answer (D5), ours from an earlier pod, or foreign (D1). Read and judge.
      const existing = await this.deps.secrets.get(pod.namespace, pod.secretName);
      if (existing === undefined) throw err;
      if (existing.metadata.labels?.[MANAGED_LABEL] === 'true') this.upsertSecret(existing);
      await this.reconcileExisting(pod, desired, existing);
      return;
    }
    this.deps.counters.issued('issued');
    this.deps.events.record(
      podTarget(pod),
      'Normal',
      'CertificateIssued',
      `Issued ${desired.spiffeId} into Secret ${pod.secretName}, valid until ${issued.notAfter.toISOString()}`,
    );
    this.deps.log.info(
      {
        namespace: pod.namespace,
        pod: pod.name,
        secret: pod.secretName,
        spiffeId: desired.spiffeId,
        notAfter: issued.notAfter.toISOString(),
      },
      'certificate issued',
    );
  }

  private async replace(secret: SecretObject, pod: PodInfo): Promise<void> {
    this.refuseOversize(secret, pod);
    await this.throttle();
    try {
      const written = await this.deps.secrets.replace(secret);
      this.upsertSecret(written, true);
    } catch (err) {
      if (apiStatus(err) === 409 || apiStatus(err) === 404) {
        // Conflict: someone wrote since we read. Re-read and decide again (F3).
        const fresh = await this.deps.secrets.get(pod.namespace, pod.secretName);
        if (fresh === undefined) this.removeSecret(secret);
        else this.upsertSecret(fresh);
        throw err;
      }
      throw err;
    }
  }

  private refuseOversize(secret: SecretObject, pod: PodInfo): void {
    const bytes = secretDataBytes(secret);
    if (bytes <= MAX_SECRET_BYTES) return;
    const message = `Secret ${pod.secretName} would hold ${bytes} bytes; the API server stores at most ${MAX_SECRET_BYTES}. Shrink the trust bundle.`;
    this.deps.events.record(podTarget(pod), 'Warning', 'IssueFailed', message);
    throw new Error(message);
  }

  private warnIfCapped(pod: PodInfo, capped: boolean): void {
    if (!capped) return;
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

  private retryLater(key: string, err: unknown): void {
    const status = apiStatus(err);
    const attempt = this.queue.failed(key);
    const reason =
      status === undefined
        ? 'error'
        : status === 409
          ? 'conflict'
          : status === 403
            ? 'forbidden'
            : status === 429
              ? 'throttled'
              : status >= 500
                ? 'server_error'
                : `http_${status}`;
    if (status === 409) {
      // Conflicts re-read and retry at once: the fresh object is already in the cache.
      this.queue.add(key);
      return;
    }
    this.deps.counters.failed(reason);
    // 403 (RBAC, quota) will not fix itself in milliseconds: back off from a higher floor (D2).
    const delay = backoffDelay(
      attempt,
      this.deps.random(),
      status === 403 ? 10_000 : 500,
      status === 403 ? 300_000 : 60_000,
    );
    this.queue.addAt(key, this.deps.clock() + delay);
    const pod = this.pods.get(key);
    const message = err instanceof Error ? err.message : String(err);
    this.deps.log.warn(
      { item: key, reason, status, attempt, retryInMs: delay },
      `issuing failed: ${message}`,
    );
    if (pod !== undefined && (attempt === 1 || attempt % 10 === 0)) {
      this.deps.events.record(
        podTarget(pod),
        'Warning',
        'IssueFailed',
        `Could not write Secret ${pod.secretName} (${reason}): ${message}; retrying with backoff.`,
      );
    }
  }

  // ---- helpers --------------------------------------------------------------------------------------

  private desiredFor(pod: PodInfo): DesiredIdentity | undefined {
    let spiffeId: string;
    try {
      spiffeId = workloadIdentity(this.deps.config.trustDomain, pod.namespace, pod.serviceAccount).spiffeId;
    } catch (err) {
      this.deps.counters.failed('invalid_identity');
      this.deps.log.warn(
        { namespace: pod.namespace, pod: pod.name, reason: 'invalid_identity' },
        (err as Error).message,
      );
      return undefined;
    }
    return {
      owner: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
      spiffeId,
      dnsNames: this.dnsNamesFor(pod),
      trustBundlePem: this.deps.certs.trustBundle(),
      issuerKeyId: this.deps.certs.activeIssuerKeyId(),
    };
  }

  /** DNS SANs for every Service in the pod's namespace whose selector matches the pod's labels. */
  private dnsNamesFor(pod: PodInfo): string[] {
    const names: string[] = [];
    const domain = this.deps.config.clusterDomain;
    for (const [service, selector] of this.services.get(pod.namespace) ?? []) {
      if (!selects(selector, pod.labels)) continue;
      names.push(
        service,
        `${service}.${pod.namespace}`,
        `${service}.${pod.namespace}.svc`,
        `${service}.${pod.namespace}.svc.${domain}`,
      );
    }
    return names.sort();
  }

  private contentOf(secretKey: string, secret: SecretObject, desired: DesiredIdentity): SecretContent {
    const info = this.secrets.get(secretKey);
    if (
      info?.content !== undefined &&
      info.object.metadata.resourceVersion === secret.metadata.resourceVersion
    )
      return info.content;
    const certPem = secretFile(secret, CERT_FILE);
    const keyPem = secretFile(secret, KEY_FILE);
    let content: SecretContent;
    if (certPem === undefined || keyPem === undefined) {
      content = {
        facts: undefined,
        problems: [{ code: 'missing_file', message: 'tls.crt or tls.key missing' }],
      };
    } else {
      const facts = this.deps.certs.inspect(certPem);
      const problems = this.deps.certs.check({
        certPem,
        keyPem,
        bundlePem: desired.trustBundlePem,
        now: new Date(this.deps.clock()),
      });
      content =
        'notAfter' in facts ? { facts, problems } : { facts: undefined, problems: [facts, ...problems] };
    }
    if (info !== undefined && info.object.metadata.resourceVersion === secret.metadata.resourceVersion)
      info.content = content;
    return content;
  }

  private policy(): { renewAt: number; jitter: number } {
    return { renewAt: this.deps.config.renewAt, jitter: this.deps.config.renewJitter };
  }

  private requeueSelected(
    namespace: string,
    selectors: readonly (Readonly<Record<string, string>> | undefined)[],
  ): void {
    for (const [key, pod] of this.pods) {
      if (pod.namespace !== namespace) continue;
      if (selectors.some((s) => s !== undefined && selects(s, pod.labels))) this.queue.add(key);
    }
  }

  private removePodKey(key: string): void {
    const pod = this.pods.get(key);
    if (pod === undefined) return;
    this.pods.delete(key);
    this.podBySecret.delete(objectKey(pod.namespace, pod.secretName));
    this.queue.forget(key);
  }

  private resyncAll(): void {
    for (const key of this.pods.keys()) this.queue.add(key);
    this.queue.add(WEBHOOK_ITEM);
  }
}

function podKey(namespace: string, name: string): string {
  return `${POD_PREFIX}${namespace}/${name}`;
}

/** The facts the controller needs from a pod marked by the webhook, or undefined when it should be left alone. */
function podInfo(pod: PodObject): PodInfo | undefined {
  const { namespace, name, uid, labels, annotations, deletionTimestamp } = pod.metadata;
  if (namespace === undefined || name === undefined || uid === undefined) return undefined;
  if (labels?.[MANAGED_LABEL] !== 'true') return undefined;
  const secretName = annotations?.[SECRET_ANNOTATION];
  if (secretName === undefined || secretName === '') return undefined;
  if (deletionTimestamp !== undefined && deletionTimestamp !== null) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  return {
    namespace,
    name,
    uid,
    serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    secretName,
    labels: labels ?? {},
  };
}

function podTarget(pod: PodInfo): EventTarget {
  return { kind: 'Pod', apiVersion: 'v1', namespace: pod.namespace, name: pod.name, uid: pod.uid };
}

function selects(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function pickCa(bundlePem: string): Record<string, string> {
  const data = tlsData('', '', bundlePem);
  return { [CA_FILE]: data[CA_FILE] ?? '' };
}
