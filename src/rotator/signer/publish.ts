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
import { CA_FILE, CRL_FILE } from '../../core/names.js';
import { clusterTrustBundleName, MANAGED_CONFIGMAP_LABEL } from '../../core/pod-certificate.js';
import {
  apiStatus,
  type ClusterTrustBundleApi,
  type ConfigMapApi,
  type ConfigMapObject,
} from '../../kube/types.js';
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

/** One key of a ConfigMap to keep: its value, and when what is there counts as that value. */
interface WantedKey {
  readonly key: string;
  readonly value: string;
  readonly same: (current: string) => boolean;
}

/**
 * Keeps `name` in `namespace` holding every wanted key (other keys kept); refuses ConfigMaps not labelled ours.
 * A write is given a deadline within `window` (what is left of the leadership).
 */
async function ensureConfigMapKeys(
  api: ConfigMapApi,
  window: WriteWindow,
  namespace: string,
  name: string,
  wanted: readonly WantedKey[],
): Promise<'unchanged' | 'written' | 'foreign'> {
  const what = `ConfigMap ${namespace}/${name}`;
  const values = Object.fromEntries(wanted.map((w) => [w.key, w.value]));
  const current = await api.get(namespace, name);
  if (current === undefined) {
    await api.create(
      { metadata: { name, namespace, labels: OURS }, data: values },
      writeDeadline(what, window),
    );
    return 'written';
  }
  if (current.metadata.labels?.[MANAGED_CONFIGMAP_LABEL] !== 'true') return 'foreign';
  const stale = wanted.filter((w) => {
    const existing = current.data?.[w.key];
    return existing === undefined || !w.same(existing);
  });
  if (stale.length === 0) return 'unchanged';
  const next: ConfigMapObject = { ...current, data: { ...(current.data ?? {}), ...values } };
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
      const outcome = await ensureConfigMapKeys(
        deps.configMaps,
        deps.writeWindowMs,
        deps.namespace,
        deps.name,
        [
          {
            key: CLUSTER_FACTS_KEY,
            value: encodeClusterFacts(facts),
            same: (current) => {
              const parsed = parseClusterFacts(current);
              return parsed.ok && substance(parsed.facts) === substance(facts);
            },
          },
        ],
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
  /**
   * The per-namespace ConfigMaps (podCertificate.trustBundleConfigMap): every podCertificate volume takes ca.crl
   * from one, and ca.crt too when `caCrt` (podCertificate.trustBundle configMap, or auto without
   * ClusterTrustBundles).
   */
  readonly configMaps: { readonly api: ConfigMapApi; readonly name: string; readonly caCrt: boolean };
  /** Namespaces that need the ConfigMap: opted in, or holding pods or requests of our signer. */
  readonly namespaces: () => Iterable<string>;
  /** The trust bundle (every root workloads trust), PEM. */
  readonly bundle: () => string;
  /** The CRLs the leader published (ca.crl, PEM), or undefined while none is. */
  readonly crl: () => string | undefined;
  readonly reporter: Reporter;
  readonly log: { warn(fields: object, message: string): void };
  /** Queues an item again later (the periodic re-check). */
  readonly enqueueAt: (item: string, at: number) => void;
  /** A namespace turned out to be gone (404): it needs no ConfigMap any more. */
  readonly namespaceGone?: (namespace: string) => void;
  readonly clock: () => number;
  /** How long this replica may still write (ms); each write gets a deadline within it. */
  readonly writeWindowMs: WriteWindow;
}

/**
 * The trust bundle publisher: the ClusterTrustBundle item and one item per namespace that needs a ConfigMap
 * (ca.crl always, once a CRL is published; ca.crt when pods take it from there). `crlChanged` queues every
 * namespace's item, so a revocation and every re-signed CRL (well before nextUpdate) reach the pods.
 */
export function trustBundlePublisher(
  deps: TrustBundleDeps,
): ItemKind & { namespaceItem(ns: string): string; crlChanged(): void } {
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

  const items = (): string[] => {
    const out = deps.clusterTrustBundles === undefined ? [] : [BUNDLE_ITEM];
    for (const ns of deps.namespaces()) out.push(namespaceItem(ns));
    return out;
  };

  return {
    prefix: BUNDLE_PREFIX,
    namespaceItem,
    items,
    crlChanged() {
      for (const item of items()) if (item !== BUNDLE_ITEM) deps.enqueueAt(item, deps.clock());
    },
    async sync(item) {
      const bundle = mergeBundles(deps.bundle());
      if (item === BUNDLE_ITEM) {
        deps.enqueueAt(item, deps.clock() + RECHECK_MS);
        if (deps.clusterTrustBundles !== undefined)
          await syncClusterTrustBundle(deps.clusterTrustBundles, bundle);
        return;
      }
      const { configMaps } = deps;
      const namespace = item.slice(BUNDLE_PREFIX.length + 1);
      if (!items().includes(item)) return; // the namespace no longer needs one (deleted, opted out)
      deps.enqueueAt(item, deps.clock() + RECHECK_MS);
      const wanted: WantedKey[] = [];
      if (configMaps.caCrt) wanted.push({ key: CA_FILE, value: bundle, same: (c) => c === bundle });
      const crl = deps.crl();
      if (crl !== undefined) wanted.push({ key: CRL_FILE, value: crl, same: (c) => c === crl });
      if (wanted.length === 0) return; // a ClusterTrustBundle holds ca.crt, and no CRL is published yet
      let outcome;
      try {
        outcome = await ensureConfigMapKeys(
          configMaps.api,
          deps.writeWindowMs,
          namespace,
          configMaps.name,
          wanted,
        );
      } catch (err) {
        if (apiStatus(err) !== 404) throw err;
        deps.namespaceGone?.(namespace); // the namespace was deleted: nothing to keep there
        return;
      }
      if (outcome === 'written')
        deps.reporter.trustBundlePublished(
          `ConfigMap ${namespace}/${configMaps.name}`,
          configMaps.caCrt ? roots(bundle) : 0,
          crl !== undefined,
        );
      if (outcome === 'foreign')
        deps.log.warn(
          { configMap: `${namespace}/${configMaps.name}` },
          `ConfigMap exists without label ${MANAGED_CONFIGMAP_LABEL}=true; not overwritten, so podCertificate pods there get no ${configMaps.caCrt ? 'ca.crt nor ca.crl' : 'ca.crl'}. Rename or delete it.`,
        );
    },
  };
}
