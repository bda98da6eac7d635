/**
 * Over 300 lines: the controller is the one owner of the work queue (pods, orphaned Secrets, the webhook's
 * item and the kinds other parts add, such as the Pod Certificates signer); its watch handlers, dispatch and
 * drain share the queue and the cache, and read best together.
 */
import { excludedNamespaces } from '../config/injection.js';
import {
  apiStatus,
  objectKey,
  type PodObject,
  type SecretObject,
  type ServiceObject,
} from '../kube/types.js';
import { isLive } from '../model/pods.js';
import { projectSecret } from '../kube/projection.js';
import {
  type CacheFigures,
  orphanSecretKey,
  podInfo,
  podItem,
  type PodInfo,
  RotatorCache,
  selects,
  WEBHOOK_ITEM,
} from './cache.js';
import { validityOf } from './certificate-facts.js';
import type { ControllerDeps } from './controller-deps.js';
import type { ItemKind } from './ports.js';
import { Reporter } from './reporter.js';
import { RenewalSchedule } from './schedule.js';
import { SecretWriter } from './secret-writer.js';
import { createOrphanSync } from './sync-orphan.js';
import { createPodSync } from './sync-pod.js';
import { retryAfter } from './retry.js';
import { createWebhookSync } from './webhook-cert.js';
import { dnsNamesFor } from './dns-names.js';
import type { FirstIssueTrace } from './first-issue.js';
import { WorkQueue } from './work-queue.js';

/** Figures for metrics and readiness. */
export type ControllerStats = CacheFigures & { readonly queueDepth: number };

/**
 * Work items in flight at once during a drain. A new pod's item is mostly one API round trip (the create),
 * so a burst of pods is bound by how many creates overlap: with 8, the 50-pod burst of bench/pod-startup.mjs
 * waited 0.6 s p50, 1.7 s p99 for a free worker (docs/using-mtls.md). The token bucket still spaces writes.
 */
export const WORKERS = 32;
/** How often the webhook item runs even without a change, to re-check the caBundle. */
const WEBHOOK_RECHECK_MS = 60_000;

/**
 * The rotator's controller: turns pods the webhook marked into Secrets owned by those pods, keeps every
 * Secret renewed on a schedule derived from its own notAfter, refreshes ca.crt when the trust bundle
 * changes, and never overwrites a Secret it does not own. Watch events feed the cache (`upsert*`/`remove*`)
 * and queue work items; `drain` runs each item's sync (judge, then act) with up to WORKERS in flight. All
 * state it acts on comes from watch events and the API, so a restart at any point converges (faults F1,
 * F2). Only the leader drains.
 */
export class RotatorController {
  private readonly cache: RotatorCache;
  private readonly queue = new WorkQueue();
  private readonly renewals: RenewalSchedule;
  /** The one reporter, shared with the parts that add item kinds. */
  readonly reporter: Reporter;
  private readonly kinds: ItemKind[] = [];
  private readonly syncPod: (pod: PodInfo, trace?: FirstIssueTrace) => Promise<void>;
  /** When each pod still waiting for its first Secret was first seen (epoch ms), for its stage times. */
  private readonly firstSeen = new Map<string, number>();
  private readonly syncOrphan: (secretKey: string) => Promise<void>;
  private readonly syncWebhook: (() => Promise<void>) | undefined;
  /** Workers running now (at most WORKERS), and the promise every drain() call waits on until none runs. */
  private workers = 0;
  private idle: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined;

  constructor(private readonly deps: ControllerDeps) {
    const { config } = deps;
    const webhookSecretKey = objectKey(config.installNamespace, config.webhook.tlsSecretName);
    this.cache = new RotatorCache(webhookSecretKey);
    this.renewals = new RenewalSchedule({ renewAt: config.renewAt, jitter: config.renewJitter }, deps.random);
    this.reporter = new Reporter({ events: deps.events, log: deps.log, counters: deps.counters });
    const writer = new SecretWriter({
      secrets: deps.secrets,
      writeQps: config.rotator.writeQps,
      writeBurst: config.rotator.writeBurst,
      clock: deps.clock,
      sleep: deps.sleep,
      reporter: this.reporter,
      leadership: deps.leadership,
      observer: {
        upsert: (secret, ownWrite) => this.upsertSecret(secret, ownWrite),
        remove: (secret) => this.removeSecret(secret),
      },
    });
    this.syncPod = createPodSync({
      config,
      certs: deps.certs,
      cache: this.cache,
      namespaceLabels: deps.namespaceLabels,
      excludedNamespaces: excludedNamespaces(config),
      getPod: deps.getPod,
      isDue: (key) => this.renewals.isDue(key),
      writer,
      reporter: this.reporter,
      clock: deps.clock,
      revocation: deps.revocation,
    });
    this.syncOrphan = createOrphanSync({
      cache: this.cache,
      getPod: deps.getPod,
      syncPod: this.syncPod,
      enqueue: (item) => this.queue.add(item),
    });
    this.syncWebhook =
      deps.webhookConfig === undefined
        ? undefined
        : createWebhookSync({
            config,
            secrets: deps.secrets,
            webhookConfig: deps.webhookConfig,
            certs: deps.certs,
            writer,
            reporter: this.reporter,
            clock: deps.clock,
            isDue: () => this.renewals.isDue(webhookSecretKey),
            leadership: deps.leadership,
          });
    if (this.syncWebhook !== undefined) this.queue.add(WEBHOOK_ITEM);
    deps.leadership.onChange((leading) => {
      if (leading) this.resyncAll();
    });
  }

  // ---- watch handlers -------------------------------------------------------------------------------

  /**
   * A pod was added or changed on the watch of pods labelled mtls-injector.io/managed=true. A pod that has
   * finished or is being deleted is remembered as such: its Secret is neither renewed nor counted.
   */
  upsertPod(pod: PodObject): void {
    const { namespace, name, uid } = pod.metadata;
    if (namespace === undefined || name === undefined) return;
    const item = podItem(namespace, name);
    const info = podInfo(pod);
    if (info === undefined) {
      this.forgetPod(item);
      if (uid !== undefined && !isLive(pod)) this.cache.setFinished(uid);
      return;
    }
    // A pod without its Secret yet is held by the kubelet until it exists: it goes ahead of renewals.
    const waiting = this.cache.secret(objectKey(info.namespace, info.secretName)) === undefined;
    if (waiting && !this.firstSeen.has(item)) this.firstSeen.set(item, this.deps.clock());
    if (this.cache.setPod(item, info)) this.queue.add(item, waiting);
  }

  /**
   * A pod left the watch: deleted (its Secret goes with it, garbage collector), or its managed label was
   * removed (its Secret is still renewed, following the Secret's ownerReference).
   */
  removePod(pod: PodObject): void {
    const { namespace, name, uid } = pod.metadata;
    if (namespace === undefined || name === undefined) return;
    this.forgetPod(podItem(namespace, name), uid);
  }

  /** A namespace's labels changed: its pods are judged again (an opt-in lets waiting pods be issued). */
  namespaceChanged(namespace: string): void {
    for (const item of this.cache.podsSelected(namespace, () => true)) this.queue.add(item);
  }

  /** A managed Secret was added or changed: remember its projection and facts, schedule its renewal. */
  upsertSecret(secret: SecretObject, ownWrite = false): void {
    const { namespace, name } = secret.metadata;
    if (namespace === undefined || name === undefined) return;
    const key = objectKey(namespace, name);
    const known = this.cache.secret(key);
    if (known !== undefined && known.object.metadata.resourceVersion === secret.metadata.resourceVersion)
      return;
    const facts = validityOf(secret, this.deps.certs);
    this.cache.setSecret(key, { object: projectSecret(secret), content: undefined, facts });
    this.renewals.set(key, facts);
    const owner = this.cache.ownerOf(key);
    if (owner !== undefined && !ownWrite) this.queue.add(owner);
  }

  /** A managed Secret was deleted: recreate it if its pod still runs (faults F6). */
  removeSecret(secret: SecretObject): void {
    const { namespace, name } = secret.metadata;
    if (namespace === undefined || name === undefined) return;
    const key = objectKey(namespace, name);
    const owner = this.cache.ownerOf(key);
    this.cache.removeSecret(key);
    this.renewals.remove(key);
    if (owner !== undefined) this.queue.add(owner);
  }

  /** A Service changed: pods it selects (before or after) may need other DNS SANs. */
  upsertService(service: ServiceObject): void {
    const { namespace, name } = service.metadata;
    if (namespace === undefined || name === undefined) return;
    const after = service.spec?.selector ?? {};
    const before = this.cache.setService(namespace, name, after);
    this.requeueSelected(namespace, [before, after]);
  }

  /** A Service was deleted: pods it selected lose its DNS SANs. */
  removeService(service: ServiceObject): void {
    const { namespace, name } = service.metadata;
    if (namespace === undefined || name === undefined) return;
    this.requeueSelected(namespace, [this.cache.removeService(namespace, name)]);
  }

  /** Adds a kind of work item (see ItemKind); its current items are queued at once. */
  addKind(kind: ItemKind): void {
    this.kinds.push(kind);
    for (const item of kind.items()) this.queue.add(item);
  }

  /** Queues an item of an added kind, now or at `at` (epoch ms); `forget` drops it (its object is gone). */
  enqueue(item: string, at?: number): void {
    if (at === undefined) this.queue.add(item);
    else this.queue.addAt(item, at);
  }
  forget(item: string): void {
    this.queue.forget(item);
  }

  /** DNS SANs of a pod with `labels` in `namespace`, from the Services the cache holds. */
  dnsNamesFor(namespace: string, labels: Readonly<Record<string, string>>): string[] {
    return dnsNamesFor(
      this.cache,
      namespace,
      labels,
      this.deps.config.clusterDomain,
      this.deps.config.dnsShortNames,
    );
  }

  /** Trust changed (CA, ca.crt, ca.crl, revocations): every Secret judged again, pods `first` (ns/name) first. */
  trustChanged(first: readonly string[] = []): void {
    for (const [ns = '', name = ''] of first.map((p) => p.split('/'))) this.queue.add(podItem(ns, name));
    this.cache.forgetContents();
    this.resyncAll();
  }

  // ---- running --------------------------------------------------------------------------------------

  /** Moves due renewals and retries into the work queue. */
  tick(): void {
    const now = this.deps.clock();
    for (const key of this.renewals.popDue(now)) {
      const owner = this.cache.ownerOf(key);
      if (owner !== undefined) this.queue.add(owner);
    }
    this.queue.promote(now);
  }

  /** Epoch ms of the next renewal or retry, for the runner's timer. */
  nextWakeup(): number | undefined {
    const candidates = [this.renewals.next(), this.queue.nextDelayed()].filter(
      (t): t is number => t !== undefined,
    );
    return candidates.length === 0 ? undefined : Math.min(...candidates);
  }

  /**
   * Processes queued work until none is ready, with up to WORKERS items in flight (never the same item twice:
   * the queue guarantees it). Re-entrant: a call while workers run adds workers for the items queued since,
   * up to WORKERS, and every call resolves once the last worker has stopped. So a burst of new pods whose
   * watch events arrive one by one while the first is being written is issued WORKERS at a time, not by the
   * one worker that was busy when they came. API round trips, not CPU, bound a burst, so writes overlap; the
   * token bucket still spaces them. Followers leave the queue alone.
   */
  drain(): Promise<void> {
    const wanted = Math.min(WORKERS - this.workers, this.queue.depth);
    for (let i = 0; i < wanted; i++) {
      this.workers += 1;
      void this.work()
        .catch((err: unknown) => this.deps.log.error({ error: String(err) }, 'controller worker failed'))
        .finally(() => {
          this.workers -= 1;
          if (this.workers > 0) return;
          const idle = this.idle;
          this.idle = undefined;
          idle?.resolve();
        });
    }
    if (this.workers === 0) return Promise.resolve();
    if (this.idle === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }

  /** One worker: takes items until none is ready (or leadership is lost). A failed item is retried later. */
  private async work(): Promise<void> {
    while (this.deps.leadership.isLeader()) {
      const item = this.queue.take();
      if (item === undefined) return;
      try {
        await this.sync(item);
        this.queue.succeeded(item);
      } catch (err) {
        this.retryLater(item, err);
      } finally {
        this.queue.done(item);
      }
    }
  }

  /** Figures for metrics and readiness. */
  stats(): ControllerStats {
    return {
      queueDepth: this.queue.depth + this.queue.delayedDepth,
      ...this.cache.figures(new Date(this.deps.clock())),
    };
  }

  // ---- items ----------------------------------------------------------------------------------------

  /** The sync of one work item: the webhook's, an added kind's, or a pod's. */
  private async sync(item: string): Promise<void> {
    const kind = this.kinds.find((k) => item.startsWith(k.prefix));
    if (kind !== undefined) return kind.sync(item);
    if (item === WEBHOOK_ITEM) {
      if (this.syncWebhook === undefined) return;
      this.queue.addAt(WEBHOOK_ITEM, this.deps.clock() + WEBHOOK_RECHECK_MS);
      await this.syncWebhook();
      return;
    }
    const orphan = orphanSecretKey(item);
    if (orphan !== undefined) {
      await this.syncOrphan(orphan);
      return;
    }
    const pod = this.cache.pod(item);
    if (pod === undefined) return;
    const seen = this.firstSeen.get(item);
    await this.syncPod(pod, seen === undefined ? undefined : { seen, started: this.deps.clock() });
    if (seen !== undefined && this.cache.secret(objectKey(pod.namespace, pod.secretName)) !== undefined)
      this.firstSeen.delete(item);
  }

  private retryLater(item: string, err: unknown): void {
    const status = apiStatus(err);
    const attempt = this.queue.failed(item);
    const retry = retryAfter(status, attempt, this.deps.random);
    if (retry.when === 'now') {
      this.queue.add(item);
      return;
    }
    this.queue.addAt(item, this.deps.clock() + retry.delayMs);
    const message = err instanceof Error ? err.message : String(err);
    const failure = { reason: retry.reason, status, attempt, retryInMs: retry.delayMs, message };
    this.reporter.retrying(item, failure, this.cache.pod(item));
  }

  private requeueSelected(
    namespace: string,
    selectors: readonly (Readonly<Record<string, string>> | undefined)[],
  ): void {
    const selected = (labels: Readonly<Record<string, string>>): boolean =>
      selectors.some((s) => s !== undefined && selects(s, labels));
    for (const item of this.cache.podsSelected(namespace, selected)) this.queue.add(item);
  }

  private forgetPod(item: string, uid?: string): void {
    if (!this.cache.removePod(item, uid)) return;
    this.queue.forget(item);
    this.firstSeen.delete(item);
  }

  private resyncAll(): void {
    for (const item of this.cache.podItems()) this.queue.add(item);
    for (const kind of this.kinds) for (const item of kind.items()) this.queue.add(item);
    if (this.syncWebhook !== undefined) this.queue.add(WEBHOOK_ITEM);
  }
}
