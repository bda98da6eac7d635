import { MANAGED_LABEL, SECRET_ANNOTATION } from '../core/names.js';
import { objectKey, type PodObject, type SecretObject } from '../kube/types.js';
import { isLowOnLife } from '../model/lifetime.js';
import type { CertificateFacts } from './ports.js';
import type { SecretContent } from './secret-verdict.js';

/** Work item of the webhook's own serving certificate and caBundle. */
export const WEBHOOK_ITEM = 'webhook';
const POD_PREFIX = 'pod:';

/** The work item of a pod. */
export function podItem(namespace: string, name: string): string {
  return `${POD_PREFIX}${namespace}/${name}`;
}

/** The cache's figures for metrics. */
export interface CacheFigures {
  /** Managed Secrets. */
  readonly managed: number;
  /** Unix seconds of the first managed certificate to expire, 0 when none. */
  readonly soonestExpiry: number;
  /** Managed certificates with less than LOW_LIFE_FRACTION of their lifetime left. */
  readonly lowLife: number;
  /** Managed pods. */
  readonly pods: number;
}

/** What the rotator needs from a pod the webhook marked. */
export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly serviceAccount: string;
  /** The Secret the pod mounts, from the annotation the webhook wrote. */
  readonly secretName: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A managed Secret as last seen, with what its certificate says (parsed once per resourceVersion). */
export interface SecretInfo {
  readonly object: SecretObject;
  /** The judged contents, filled on first use and dropped when the trust bundle changes. */
  content: SecretContent | undefined;
  readonly facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'> | undefined;
}

/**
 * The rotator's view of the cluster, fed by its watches: the managed pods, the managed Secrets, and the
 * Service selectors of every namespace, with the one index between them (`ownerOf`). Nothing in it is
 * decided; it only remembers. Keys: pods by work item (`pod:<ns>/<name>`), Secrets by `<ns>/<name>`.
 */
export class RotatorCache {
  private readonly pods = new Map<string, PodInfo>();
  private readonly secrets = new Map<string, SecretInfo>();
  /** Secret key → the pod item whose annotation names it. */
  private readonly podBySecret = new Map<string, string>();
  /** namespace → Service name → selector */
  private readonly services = new Map<string, Map<string, Readonly<Record<string, string>>>>();

  constructor(private readonly webhookSecretKey: string) {}

  /** The work item that owns the Secret `secretKey`: the pod that mounts it, or the webhook item. */
  ownerOf(secretKey: string): string | undefined {
    return (
      this.podBySecret.get(secretKey) ?? (secretKey === this.webhookSecretKey ? WEBHOOK_ITEM : undefined)
    );
  }

  // ---- pods ---------------------------------------------------------------------------------------

  /** Remembers a pod; answers whether it is new or its uid or labels changed (so it must be synced). */
  setPod(item: string, info: PodInfo): boolean {
    const previous = this.pods.get(item);
    this.pods.set(item, info);
    this.podBySecret.set(objectKey(info.namespace, info.secretName), item);
    return previous === undefined || previous.uid !== info.uid || !sameLabels(previous.labels, info.labels);
  }

  /** Forgets a pod; answers whether it was known. */
  removePod(item: string): boolean {
    const pod = this.pods.get(item);
    if (pod === undefined) return false;
    this.pods.delete(item);
    this.podBySecret.delete(objectKey(pod.namespace, pod.secretName));
    return true;
  }

  pod(item: string): PodInfo | undefined {
    return this.pods.get(item);
  }

  podItems(): IterableIterator<string> {
    return this.pods.keys();
  }

  /** Items of the pods in `namespace` whose labels `selects` accepts. */
  podsSelected(namespace: string, selects: (labels: Readonly<Record<string, string>>) => boolean): string[] {
    const items: string[] = [];
    for (const [item, pod] of this.pods)
      if (pod.namespace === namespace && selects(pod.labels)) items.push(item);
    return items;
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

  /** What the cache holds, for the gauges: counts, the soonest expiry and how many are low on life at `now`. */
  figures(now: Date): CacheFigures {
    let soonest = Number.POSITIVE_INFINITY;
    let lowLife = 0;
    for (const { facts } of this.secrets.values()) {
      if (facts === undefined) continue;
      soonest = Math.min(soonest, facts.notAfter.getTime());
      if (isLowOnLife(facts.notBefore, facts.notAfter, now)) lowLife += 1;
    }
    return {
      managed: this.secrets.size,
      soonestExpiry: Number.isFinite(soonest) ? soonest / 1000 : 0,
      lowLife,
      pods: this.pods.size,
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

  /**
   * DNS SANs of a pod with `labels` in `namespace`: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` and
   * `<svc>.<ns>.svc.<clusterDomain>` for every Service there whose selector matches, sorted.
   */
  dnsNamesFor(namespace: string, labels: Readonly<Record<string, string>>, clusterDomain: string): string[] {
    const names: string[] = [];
    for (const [service, selector] of this.servicesIn(namespace)) {
      if (!selects(selector, labels)) continue;
      names.push(
        service,
        `${service}.${namespace}`,
        `${service}.${namespace}.svc`,
        `${service}.${namespace}.svc.${clusterDomain}`,
      );
    }
    return names.sort();
  }
}

/** The facts the rotator needs from a pod marked by the webhook, or undefined when it should be left alone. */
export function podInfo(pod: PodObject): PodInfo | undefined {
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
