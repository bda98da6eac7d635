import type { Config } from '../../config/schema.js';
import type { ClusterFacts } from '../../core/delivery.js';
import type { EvictPod } from '../../kube/eviction.js';
import type {
  ClusterTrustBundleApi,
  ConfigMapApi,
  EventRecorder,
  PodCertificateRequestApi,
  PodCertificateRequestObject,
  PodObject,
  ServedCertificateApis,
  WatchSource,
} from '../../kube/types.js';
import { isLive, mountedPodCertificateSigner } from '../../model/pods.js';
import { namespaceMode } from '../../model/selection.js';
import type { Log } from '../../observability/logger.js';
import type { RotatorController } from '../controller.js';
import type { NamespaceLabels } from '../namespaces.js';
import type { CertOps } from '../ports.js';
import type { Clock } from '../time.js';
import type { CaMaterial } from '../../model/ca-secret.js';
import type { RevocationSource } from '../revocation-source.js';
import { IssuedIndex } from './issued.js';
import { previousCaTracker } from './previous-ca.js';
import { revokedPods } from './revoked-pods.js';
import { factsPublisher, trustBundlePublisher } from './publish.js';
import { PodCertificateSigner } from './signer.js';

type Labels = Readonly<Record<string, string>>;

/** The Pod Certificates side of the cluster, as the CLI found and connected it at start. */
export interface PodCertificateDeps {
  /** What certificates.k8s.io serves (discovered once at start; restart the rotator after an upgrade). */
  readonly served: ServedCertificateApis;
  /** PodCertificateRequests of the served version, and their watch (filtered to our signer); absent if none. */
  readonly requests: PodCertificateRequestApi | undefined;
  readonly watch: WatchSource<PodCertificateRequestObject> | undefined;
  readonly clusterTrustBundles: ClusterTrustBundleApi | undefined;
  readonly configMaps: ConfigMapApi;
  /** Reads one pod (raw JSON) to confirm what a request names. */
  readonly getPod: (namespace: string, name: string) => Promise<PodObject | undefined>;
  /** Lists the pods of one namespace, or of the cluster (the CA rotation record). */
  readonly listPods: (namespace?: string) => Promise<PodObject[]>;
  /** The Eviction API: revoked pods with pod certificates are evicted (docs/revocation.md). */
  readonly evictPod: EvictPod;
}

/**
 * Whether this rotator signs PodCertificateRequests: the API server serves them and delivery.mode is not
 * `secret` (then no pod is given a podCertificate volume, and the chart grants no signer rights).
 */
export function signsRequests(
  config: Pick<Config, 'delivery'>,
  deps: Pick<PodCertificateDeps, 'served' | 'requests'>,
): boolean {
  return (
    config.delivery.mode !== 'secret' &&
    deps.served.podCertificateRequests !== undefined &&
    deps.requests !== undefined
  );
}

/** The PodCertificateRequest watch the rotator runs (undefined when it signs nothing). */
export function requestWatch(
  config: Pick<Config, 'delivery'>,
  deps: PodCertificateDeps | undefined,
): WatchSource<PodCertificateRequestObject> | undefined {
  return deps !== undefined && signsRequests(config, deps) ? deps.watch : undefined;
}

/** The signer and its publishers, wired into a controller. */
export interface SignerPart {
  readonly facts: ClusterFacts;
  /** The request watch (undefined when PodCertificateRequests are not served: no signer). */
  readonly watch: WatchSource<PodCertificateRequestObject> | undefined;
  upsertRequest(pcr: PodCertificateRequestObject): void;
  removeRequest(pcr: PodCertificateRequestObject): void;
  upsertPod(pod: PodObject): void;
  removePod(pod: PodObject): void;
  /** A namespace's labels changed: it may need the trust bundle ConfigMap now. */
  namespaceChanged(name: string, labels: Labels): void;
  /** A new ca.crl was published: every namespace's ConfigMap gets it. */
  crlChanged(): void;
  /** The revocation record was read anew: revoked pods are acted on. */
  revocationsChanged(): void;
  /** Requests waiting for an answer. */
  pending(): number;
  /**
   * Live managed pods the pod watch shows with a podCertificate volume of our signer: each may hold a leaf of
   * the current CA (so a lost CA Secret is not silently regenerated while they run).
   */
  holders(): number;
}

/**
 * Builds the Pod Certificates part of the rotator: publishes what the API server serves (always, so the
 * webhook can decide `delivery.mode=auto` even where the answer is "Secrets"), and where PodCertificateRequests
 * are served, the signer and the trust bundle its pods mount. Everything acts through the controller's queue,
 * so only the leader writes.
 */
export function assembleSigner(args: {
  readonly config: Config;
  readonly deps: PodCertificateDeps;
  readonly controller: RotatorController;
  readonly certs: CertOps;
  readonly clock: Clock;
  readonly random: () => number;
  readonly identity: string;
  readonly log: Log;
  readonly excludedNamespaces: readonly string[];
  /** The labels of every namespace, from the rotator's Namespace watch, and whether that watch has listed. */
  readonly namespaces: Pick<NamespaceLabels, 'get' | 'all'>;
  readonly namespacesSynced: () => boolean;
  /** The CA the rotator holds (the rotation record compares its active and previous CAs). */
  readonly ca: () => CaMaterial | undefined;
  /** How long this replica may still write, in ms (0 when not leading): read before every signer write. */
  readonly writeWindowMs: () => number;
  /** The CRLs the leader published (ca.crl, PEM), copied into each namespace's ConfigMap; undefined while none. */
  readonly crl: () => string | undefined;
  /** The revocation record as the leader read it; absent: no pod is ever revoked (tests of other parts). */
  readonly revocations?: Pick<RevocationSource, 'pods' | 'findPod' | 'read' | 'find' | 'add'>;
  /** Events on revoked pods (evicted, eviction blocked). */
  readonly events: EventRecorder;
}): SignerPart {
  const { config, deps, controller, log } = args;
  const { served } = deps;
  const group = (version: string | undefined) =>
    version === undefined ? null : `certificates.k8s.io/${version}`;
  const facts: ClusterFacts = {
    podCertificateRequests: group(served.podCertificateRequests),
    clusterTrustBundles: group(served.clusterTrustBundles),
    serverVersion: served.serverVersion,
    detectedAt: new Date(args.clock()).toISOString(),
    detectedBy: args.identity,
  };
  controller.addKind(
    factsPublisher({
      configMaps: deps.configMaps,
      namespace: config.installNamespace,
      name: config.delivery.factsConfigMap,
      facts,
      reporter: controller.reporter,
      log,
      writeWindowMs: args.writeWindowMs,
    }),
  );
  // Pods that may hold pod certificates of a previous CA, for `ca rotate retire` (in every mode).
  const previousCa = previousCaTracker({
    configMaps: deps.configMaps,
    namespace: config.installNamespace,
    name: config.delivery.factsConfigMap,
    signerName: config.podCertificate.signerName,
    maxExpirationSeconds: config.podCertificate.maxExpiration,
    ca: args.ca,
    listPods: deps.listPods,
    clock: args.clock,
    enqueue: (item, at) => controller.enqueue(item, at),
    log,
    writeWindowMs: args.writeWindowMs,
  });
  controller.addKind(previousCa);

  const { requests } = deps;
  if (!signsRequests(config, deps) || requests === undefined) {
    if (config.delivery.mode === 'podCertificate')
      log.error(
        { serverVersion: served.serverVersion },
        'delivery.mode=podCertificate but the API server serves no PodCertificateRequest API; the webhook denies such pods (delivery_unavailable)',
      );
    return {
      facts,
      watch: undefined,
      upsertRequest: () => undefined,
      removeRequest: () => undefined,
      upsertPod: () => undefined,
      removePod: () => undefined,
      namespaceChanged: () => undefined,
      crlChanged: () => undefined,
      revocationsChanged: () => undefined,
      pending: () => 0,
      holders: () => 0,
    };
  }

  // Revoked pods: their requests denied, the serials issued to them listed, the pods evicted.
  const issued = new IssuedIndex(args.clock);
  const { revocations } = args;
  const revoked =
    revocations === undefined
      ? undefined
      : revokedPods({
          revocations,
          issued,
          evict: deps.evictPod,
          events: args.events,
          log,
          clock: args.clock,
          enqueue: (item, at) => controller.enqueue(item, at),
          writeWindowMs: args.writeWindowMs,
        });
  if (revoked !== undefined) controller.addKind(revoked);

  const signer = new PodCertificateSigner({
    config,
    apiVersion: group(served.podCertificateRequests) ?? '',
    requests,
    getPod: deps.getPod,
    certs: args.certs,
    reporter: controller.reporter,
    clock: args.clock,
    random: args.random,
    excludedNamespaces: args.excludedNamespaces,
    namespaceLabels: (ns) => args.namespaces.get(ns),
    namespacesSynced: args.namespacesSynced,
    dnsNames: (ns, labels) => controller.dnsNamesFor(ns, labels),
    enqueue: (item) => controller.enqueue(item),
    writeWindowMs: args.writeWindowMs,
    onSigned: (pod, issuerKeyId) => previousCa.signed(pod.uid, issuerKeyId),
    onIssued: (pod, leaf) => issued.record(pod.uid, leaf),
    ...(revocations === undefined
      ? {}
      : { revokedPod: (uid: string) => revocations.findPod(uid), revocationsRead: () => revocations.read() }),
  });
  controller.addKind(signer.kind);

  // ca.crt: the webhook's choice (podCertificate.trustBundle); ca.crl: always the per-namespace ConfigMap.
  const setting = config.podCertificate.trustBundle;
  const useConfigMaps =
    setting === 'configMap' || (setting === 'auto' && served.clusterTrustBundles === undefined);
  const podNamespaces = new Set<string>();
  const publisher = trustBundlePublisher({
    signerName: config.podCertificate.signerName,
    clusterTrustBundles: deps.clusterTrustBundles,
    configMaps: {
      api: deps.configMaps,
      name: config.podCertificate.trustBundleConfigMap,
      caCrt: useConfigMaps,
    },
    namespaces: () => {
      const out = new Set(podNamespaces);
      for (const { name, labels } of args.namespaces.all())
        if (namespaceMode(labels) !== undefined && !args.excludedNamespaces.includes(name)) out.add(name);
      return out;
    },
    bundle: () => args.certs.trustBundle(),
    crl: args.crl,
    reporter: controller.reporter,
    log,
    enqueueAt: (item, at) => controller.enqueue(item, at),
    namespaceGone: (ns) => podNamespaces.delete(ns),
    clock: args.clock,
    writeWindowMs: args.writeWindowMs,
  });
  controller.addKind(publisher);
  if (setting === 'clusterTrustBundle' && served.clusterTrustBundles === undefined)
    log.error(
      { serverVersion: served.serverVersion },
      'podCertificate.trustBundle=clusterTrustBundle but the API server serves no ClusterTrustBundle API; podCertificate pods cannot get ca.crt',
    );
  const holders = new Set<string>();
  const needsBundle = (ns: string): void => {
    if (args.excludedNamespaces.includes(ns) || podNamespaces.has(ns)) return;
    podNamespaces.add(ns);
    controller.enqueue(publisher.namespaceItem(ns));
  };

  return {
    facts,
    watch: deps.watch,
    upsertRequest: (pcr) => {
      if (pcr.metadata.namespace !== undefined) needsBundle(pcr.metadata.namespace);
      if (pcr.spec.signerName === config.podCertificate.signerName) issued.recordRequest(pcr);
      signer.upsertRequest(pcr);
    },
    removeRequest: (pcr) => signer.removeRequest(pcr),
    upsertPod: (pod) => {
      signer.upsertPod(pod);
      const { namespace: ns, uid } = pod.metadata;
      const ours = ns !== undefined && mountedPodCertificateSigner(pod) === config.podCertificate.signerName;
      if (uid !== undefined) {
        if (ours && isLive(pod)) holders.add(uid);
        else holders.delete(uid);
      }
      if (ours) needsBundle(ns);
    },
    removePod: (pod) => {
      signer.removePod(pod);
      if (pod.metadata.uid !== undefined) holders.delete(pod.metadata.uid);
    },
    namespaceChanged: (name, labels) => {
      if (namespaceMode(labels) !== undefined && !args.excludedNamespaces.includes(name))
        controller.enqueue(publisher.namespaceItem(name));
    },
    crlChanged: () => publisher.crlChanged(),
    revocationsChanged: () => revoked?.changed(),
    pending: () => signer.pendingCount,
    holders: () => holders.size,
  };
}
