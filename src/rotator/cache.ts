import { MANAGED_LABEL } from '../core/names.js';
import { objectKey, type PodObject, type SecretObject } from '../kube/types.js';
import { isLowOnLife } from '../model/lifetime.js';
import { isLive, mountedSecretName } from '../model/pods.js';
import { controllingPod } from '../model/workload-secret.js';
import type { CertificateFacts } from './ports.js';
import type { SecretContent } from './secret-verdict.js';

/** Work item of the webhook's own serving certificate and caBundle. */
export const WEBHOOK_ITEM = 'webhook';
const POD_PREFIX = 'pod:';
const ORPHAN_PREFIX = 'orphan:';

/** The work item of a pod. */
export function podItem(namespace: string, name: string): string {
  return `${POD_PREFIX}${namespace}/${name}`;
}

/**
 * The work item of a Secret whose owning pod the pod watch does not show (its managed label was removed, or
 * it never had one): its sync reads the pod named by the Secret's ownerReference, so renewal follows the
 * ownerReference and not a label.
 */
export function orphanItem(secretKey: string): string {
  return `${ORPHAN_PREFIX}${secretKey}`;
}

/** The Secret key of an orphan item, or undefined for any other item. */
export function orphanSecretKey(item: string): string | undefined {
  return item.startsWith(ORPHAN_PREFIX) ? item.slice(ORPHAN_PREFIX.length) : undefined;
}

/** The cache's figures for metrics. */
export interface CacheFigures {
  /** Managed Secrets, except those of pods that have finished. */
  readonly managed: number;
  /** Unix seconds of the first managed certificate to expire, 0 when none (finished pods not counted). */
  readonly soonestExpiry: number;
  /** Managed certificates with less than LOW_LIFE_FRACTION of their lifetime left (finished pods not counted). */
  readonly lowLife: number;
  /** Managed pods. */
  readonly pods: number;
  /** Workload Secrets (owned by a pod, finished or not): a CA may not be generated while any exists. */
  readonly workloadSecrets: number;
}

/** What the rotator needs from a pod the webhook marked. */
export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly serviceAccount: string;
  /** The Secret the pod mounts: its `mtls-certs` volume (immutable), never an annotation. */
  readonly secretName: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A managed Secret as last seen, with what its certificate says (parsed once per resourceVersion). */
export interface SecretInfo {
  readonly object: SecretObject;
  /** The judged contents, filled on first use and dropped when the trust bundle changes. */
  content: SecretContent | undefined;
  /** What its tls.crt says, read once per resourceVersion; undefined when there is none or it does not parse. */
  readonly facts: CertificateFacts | undefined;
}

/** Whether a pod is known to the cache: one that runs, one that has finished, or neither. */
export type KnownPod = 'live' | 'finished' | undefined;

/**
 * The rotator's view of the cluster, fed by its watches: the managed pods, the managed Secrets, and the
 * Service selectors of every namespace, with the one index between them (`ownerOf`). Nothing in it is
 * decided; it only remembers. Keys: pods by work item (`pod:<ns>/<name>`), Secrets by `<ns>/<name>`.
 *
 * A Secret belongs to the pod its controlling ownerReference names (by uid), never to a pod that merely
 * mounts it or names it in an annotation: a second pod mounting the same Secret cannot take it over.
 */
export class RotatorCache {
  private readonly pods = new Map<string, PodInfo>();
  /** uid → item of the live pods. */
  private readonly itemByUid = new Map<string, string>();
  /** uids of pods the watch showed finished (Succeeded, Failed) or being deleted. */
  private readonly finished = new Set<string>();
  /** Secret key → items of the live pods that mount it (normally one). */
  private readonly mounters = new Map<string, Set<string>>();
  private readonly secrets = new Map<string, SecretInfo>();
  /** namespace → Service name → selector */
  private readonly services = new Map<string, Map<string, Readonly<Record<string, string>>>>();

  constructor(private readonly webhookSecretKey: string) {}

  /**
   * The work item that syncs the Secret `secretKey`: the webhook item for its serving certificate; the live pod
   * its controlling ownerReference names, when that pod mounts it; the orphan item when that pod is not one
   * the pod watch shows (its sync reads the pod); nothing when the owner has finished or mounts another
   * Secret; and only for a Secret no pod owns (not created yet, or not in the cache) a live pod that mounts it.
   */
  ownerOf(secretKey: string): string | undefined {
    if (secretKey === this.webhookSecretKey) return WEBHOOK_ITEM;
    const info = this.secrets.get(secretKey);
    const owner = info === undefined ? undefined : controllingPod(info.object);
    if (owner !== undefined) {
      const item = this.itemByUid.get(owner.uid);
      if (item !== undefined) return this.mounters.get(secretKey)?.has(item) === true ? item : undefined;
      return this.finished.has(owner.uid) ? undefined : orphanItem(secretKey);
    }
    return this.mountersOf(secretKey)[0];
  }

  /** Whether the pod with `uid` is known: live (watched, running or pending), finished, or not known. */
  knownPod(uid: string): KnownPod {
    if (this.itemByUid.has(uid)) return 'live';
    return this.finished.has(uid) ? 'finished' : undefined;
  }

  // ---- pods ---------------------------------------------------------------------------------------

  /** Remembers a live pod; answers whether it is new or its uid or labels changed (so it must be synced). */
  setPod(item: string, info: PodInfo): boolean {
    const previous = this.pods.get(item);
    if (previous !== undefined) this.unindex(item, previous);
    this.pods.set(item, info);
    this.itemByUid.set(info.uid, item);
    const key = objectKey(info.namespace, info.secretName);
    const mounting = this.mounters.get(key) ?? new Set<string>();
    mounting.add(item);
    this.mounters.set(key, mounting);
    return previous === undefined || previous.uid !== info.uid || !sameLabels(previous.labels, info.labels);
  }

  /** Notes a pod that has finished or is being deleted: its Secret is neither renewed nor counted. */
  setFinished(uid: string): void {
    this.finished.add(uid);
  }

  /** Forgets a pod; answers whether it was known as live. */
  removePod(item: string, uid?: string): boolean {
    if (uid !== undefined) this.finished.delete(uid);
    const pod = this.pods.get(item);
    if (pod === undefined) return false;
    this.pods.delete(item);
    this.unindex(item, pod);
    return true;
  }

  pod(item: string): PodInfo | undefined {
    return this.pods.get(item);
  }

  podItems(): IterableIterator<string> {
    return this.pods.keys();
  }

  /** Items of the live pods that mount the Secret `secretKey`. */
  mountersOf(secretKey: string): readonly string[] {
    return [...(this.mounters.get(secretKey) ?? [])];
  }

  /** Items of the pods in `namespace` whose labels `selects` accepts. */
  podsSelected(namespace: string, selects: (labels: Readonly<Record<string, string>>) => boolean): string[] {
    const items: string[] = [];
    for (const [item, pod] of this.pods)
      if (pod.namespace === namespace && selects(pod.labels)) items.push(item);
    return items;
  }

  private unindex(item: string, pod: PodInfo): void {
    if (this.itemByUid.get(pod.uid) === item) this.itemByUid.delete(pod.uid);
    const key = objectKey(pod.namespace, pod.secretName);
    const mounting = this.mounters.get(key);
    mounting?.delete(item);
    if (mounting?.size === 0) this.mounters.delete(key);
  }

  // ---- Secrets ------------------------------------------------------------------------------------

  secret(key: string): SecretInfo | undefined {
    return this.secrets.get(key);
  }

  setSecret(key: string, info: SecretInfo): void {
    this.secrets.set(key, info);
  }

  removeSecret(key: string): void {
    this.secrets.delete(key);
  }

  /**
   * What the cache holds, for the gauges: counts, the soonest expiry and how many are low on life at `now`.
   * Secrets of pods that have finished are left out: nothing renews them, and nothing needs to.
   */
  figures(now: Date): CacheFigures {
    let soonest = Number.POSITIVE_INFINITY;
    let lowLife = 0;
    let managed = 0;
    let workloadSecrets = 0;
    for (const { object, facts } of this.secrets.values()) {
      const owner = controllingPod(object);
      if (owner !== undefined) workloadSecrets += 1;
      if (owner !== undefined && this.finished.has(owner.uid)) continue;
      managed += 1;
      if (facts === undefined) continue;
      soonest = Math.min(soonest, facts.notAfter.getTime());
      if (isLowOnLife(facts.notBefore, facts.notAfter, now)) lowLife += 1;
    }
    return {
      managed,
      soonestExpiry: Number.isFinite(soonest) ? soonest / 1000 : 0,
      lowLife,
      pods: this.pods.size,
      workloadSecrets,
    };
  }

  /** Forgets every judged content (the trust bundle or the active CA changed). */
  forgetContents(): void {
    for (const info of this.secrets.values()) info.content = undefined;
  }

  // ---- Services -----------------------------------------------------------------------------------

  /** Sets a Service's selector; answers the one it had. */
  setService(
    namespace: string,
    name: string,
    selector: Readonly<Record<string, string>>,
  ): Readonly<Record<string, string>> | undefined {
    const inNamespace = this.services.get(namespace) ?? new Map<string, Readonly<Record<string, string>>>();
    const before = inNamespace.get(name);
    inNamespace.set(name, selector);
    this.services.set(namespace, inNamespace);
    return before;
  }

  /** Forgets a Service; answers the selector it had. */
  removeService(namespace: string, name: string): Readonly<Record<string, string>> | undefined {
    const before = this.services.get(namespace)?.get(name);
    this.services.get(namespace)?.delete(name);
    return before;
  }

  /** Service name → selector, for one namespace. */
  servicesIn(namespace: string): Iterable<[string, Readonly<Record<string, string>>]> {
    return this.services.get(namespace) ?? [];
  }
}

/**
 * The facts the rotator needs from a live pod that mounts an identity Secret, or undefined when it has none
 * or does not run (finished, being deleted). The Secret is the one its `mtls-certs` volume names.
 */
export function podFacts(pod: PodObject): PodInfo | undefined {
  const { namespace, name, uid, labels } = pod.metadata;
  if (namespace === undefined || name === undefined || uid === undefined) return undefined;
  if (!isLive(pod)) return undefined;
  const secretName = mountedSecretName(pod);
  if (secretName === undefined) return undefined;
  return {
    namespace,
    name,
    uid,
    serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    secretName,
    labels: labels ?? {},
  };
}

/** podFacts of a pod the webhook marked (`mtls-injector.io/managed: "true"`), as the pod watch delivers them. */
export function podInfo(pod: PodObject): PodInfo | undefined {
  if (pod.metadata.labels?.[MANAGED_LABEL] !== 'true') return undefined;
  return podFacts(pod);
}

/** Whether a non-empty `selector` matches `labels` (an empty selector selects nothing here). */
export function selects(
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
