/**
 * What the rotator publishes for Pod Certificates, each as work items of the controller (so only the leader
 * writes, with its retries): the delivery facts the webhook reads (`delivery.mode=auto`), and the trust bundle
 * pods mount as ca.crt: the signer's ClusterTrustBundle where the API serves them, or a ConfigMap in each
 * namespace that needs one. Every write compares first, so a re-check that finds nothing changed writes nothing.
 */
import {
  CLUSTER_FACTS_KEY,
  type ClusterFacts,
  encodeClusterFacts,
  parseClusterFacts,
} from '../../core/delivery.js';
import { CA_FILE } from '../../core/names.js';
import { clusterTrustBundleName, MANAGED_CONFIGMAP_LABEL } from '../../core/pod-certificate.js';
import type { ClusterTrustBundleApi, ConfigMapApi, ConfigMapObject } from '../../kube/types.js';
import { mergeBundles } from '../../pki/bundle.js';
import type { ItemKind } from '../ports.js';
import type { Reporter } from '../reporter.js';
import { writeDeadline, type WriteWindow } from './write-window.js';

/** Work item of the delivery facts ConfigMap. */
export const FACTS_ITEM = 'delivery-facts';
/** Work items of the trust bundle: the ClusterTrustBundle, and `trust-bundle:<namespace>` ConfigMaps. */
export const BUNDLE_PREFIX = 'trust-bundle';
const BUNDLE_ITEM = BUNDLE_PREFIX;
/** How often published objects are re-checked without a change (someone may have edited or deleted them). */
export const RECHECK_MS = 10 * 60_000;

const OURS = { [MANAGED_CONFIGMAP_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'mtls-injector' };

/**
 * Keeps `name` in `namespace` holding `key` = `value` (other keys kept); refuses ConfigMaps not labelled ours.
 * A write is given a deadline within `window` (what is left of the leadership).
 */
async function ensureConfigMapKey(
  api: ConfigMapApi,
  window: WriteWindow,
  namespace: string,
  name: string,
  key: string,
  value: string,
  same: (current: string) => boolean,
): Promise<'unchanged' | 'written' | 'foreign'> {
  const what = `ConfigMap ${namespace}/${name}`;
  const current = await api.get(namespace, name);
  if (current === undefined) {
    await api.create(
      { metadata: { name, namespace, labels: OURS }, data: { [key]: value } },
      writeDeadline(what, window),
    );
    return 'written';
  }
  if (current.metadata.labels?.[MANAGED_CONFIGMAP_LABEL] !== 'true') return 'foreign';
  const existing = current.data?.[key];
  if (existing !== undefined && same(existing)) return 'unchanged';
  const next: ConfigMapObject = { ...current, data: { ...(current.data ?? {}), [key]: value } };
  await api.replace(next, writeDeadline(what, window));
  return 'written';
}

/** The delivery facts publisher: one item, written when what the API server serves differs from what is there. */
export function factsPublisher(deps: {
  readonly configMaps: ConfigMapApi;
  readonly namespace: string;
  readonly name: string;
  readonly facts: ClusterFacts;
  readonly reporter: Reporter;
  readonly log: { warn(fields: object, message: string): void };
  /** How long this replica may still write (ms); each write gets a deadline within it. */
  readonly writeWindowMs: WriteWindow;
}): ItemKind {
  const { facts } = deps;
  const substance = (f: ClusterFacts) =>
    `${f.podCertificateRequests ?? ''}|${f.clusterTrustBundles ?? ''}|${f.serverVersion}`;
  return {
    prefix: FACTS_ITEM,
    items: () => [FACTS_ITEM],
    async sync() {
      const outcome = await ensureConfigMapKey(
        deps.configMaps,
        deps.writeWindowMs,
        deps.namespace,
        deps.name,
        CLUSTER_FACTS_KEY,
        encodeClusterFacts(facts),
        (current) => {
          const parsed = parseClusterFacts(current);
          return parsed.ok && substance(parsed.facts) === substance(facts);
        },
      );
      if (outcome === 'written')
        deps.reporter.deliveryFactsPublished(`${deps.namespace}/${deps.name}`, { ...facts });
      if (outcome === 'foreign')
        deps.log.warn(
          { configMap: `${deps.namespace}/${deps.name}` },
          `ConfigMap exists without label ${MANAGED_CONFIGMAP_LABEL}=true; not overwritten, so delivery.mode=auto cannot be decided. Delete it.`,
        );
    },
  };
}

/** The trust bundle publisher's inputs. */
export interface TrustBundleDeps {
  readonly signerName: string;
  /** The ClusterTrustBundle API where served (then the bundle is published there). */
  readonly clusterTrustBundles: ClusterTrustBundleApi | undefined;
  /** Per-namespace ConfigMaps, when pods take ca.crt from one (podCertificate.trustBundle). */
  readonly configMaps: { readonly api: ConfigMapApi; readonly name: string } | undefined;
  /** Namespaces that need the ConfigMap: opted in, or holding pods or requests of our signer. */
  readonly namespaces: () => Iterable<string>;
  /** The trust bundle (every root workloads trust), PEM. */
  readonly bundle: () => string;
  readonly reporter: Reporter;
  readonly log: { warn(fields: object, message: string): void };
  /** Queues an item again later (the periodic re-check). */
  readonly enqueueAt: (item: string, at: number) => void;
  readonly clock: () => number;
  /** How long this replica may still write (ms); each write gets a deadline within it. */
  readonly writeWindowMs: WriteWindow;
}

/** The trust bundle publisher: the ClusterTrustBundle item and one item per namespace that needs a ConfigMap. */
export function trustBundlePublisher(
  deps: TrustBundleDeps,
): ItemKind & { namespaceItem(ns: string): string } {
  const ctbName = clusterTrustBundleName(deps.signerName);
  const namespaceItem = (ns: string) => `${BUNDLE_PREFIX}:${ns}`;
  const roots = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;

  const syncClusterTrustBundle = async (api: ClusterTrustBundleApi, bundle: string): Promise<void> => {
    const what = `ClusterTrustBundle ${ctbName}`;
    const current = await api.get(ctbName);
    if (current === undefined) {
      await api.create(
        {
          metadata: { name: ctbName, labels: { 'app.kubernetes.io/managed-by': 'mtls-injector' } },
          spec: { signerName: deps.signerName, trustBundle: bundle },
        },
        writeDeadline(what, deps.writeWindowMs),
      );
    } else {
      if (mergeBundles(current.spec.trustBundle) === bundle) return;
      await api.replace(
        { ...current, spec: { ...current.spec, trustBundle: bundle } },
        writeDeadline(what, deps.writeWindowMs),
      );
    }
    deps.reporter.trustBundlePublished(`ClusterTrustBundle ${ctbName}`, roots(bundle));
  };

  return {
    prefix: BUNDLE_PREFIX,
    namespaceItem,
    items: () => {
      const items = deps.clusterTrustBundles === undefined ? [] : [BUNDLE_ITEM];
      if (deps.configMaps !== undefined) for (const ns of deps.namespaces()) items.push(namespaceItem(ns));
      return items;
    },
    async sync(item) {
      const bundle = mergeBundles(deps.bundle());
      deps.enqueueAt(item, deps.clock() + RECHECK_MS);
      if (item === BUNDLE_ITEM) {
        if (deps.clusterTrustBundles !== undefined)
          await syncClusterTrustBundle(deps.clusterTrustBundles, bundle);
        return;
      }
      const { configMaps } = deps;
      if (configMaps === undefined) return;
      const namespace = item.slice(BUNDLE_PREFIX.length + 1);
      const outcome = await ensureConfigMapKey(
        configMaps.api,
        deps.writeWindowMs,
        namespace,
        configMaps.name,
        CA_FILE,
        bundle,
        (current) => current === bundle,
      );
      if (outcome === 'written')
        deps.reporter.trustBundlePublished(`ConfigMap ${namespace}/${configMaps.name}`, roots(bundle));
      if (outcome === 'foreign')
        deps.log.warn(
          { configMap: `${namespace}/${configMaps.name}` },
          `ConfigMap exists without label ${MANAGED_CONFIGMAP_LABEL}=true; not overwritten, so podCertificate pods there get no ca.crt. Rename or delete it.`,
        );
    },
  };
}
