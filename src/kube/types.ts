/**
 * The slices of Kubernetes objects the product reads and writes, and the narrow APIs it needs. Real
 * implementations live in src/kube (client-node); in-memory ones in test/fakes are passed in by tests.
 *
 * Over 300 lines: one catalogue of object slices and narrow APIs, imported by the pure model as a whole;
 * split, `src/model` would need a layer exception per file.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';

/** An ownerReference (the garbage collector deletes the object with its owner). */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** The metadata fields the product reads and writes. */
export interface ObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly deletionTimestamp?: string | Date;
  readonly creationTimestamp?: string | Date;
}

/** A Secret: a workload identity, the CA, or the webhook serving certificate. */
export interface SecretObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly type?: string;
  /** base64 values, as the API returns them */
  readonly data?: Readonly<Record<string, string>>;
  readonly immutable?: boolean;
}

/**
 * A ConfigMap: the trust bundle the rotator publishes (in its namespace, and per namespace in podCertificate
 * mode where no ClusterTrustBundle is served) and the delivery facts it publishes for the webhook.
 */
export interface ConfigMapObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly data?: Readonly<Record<string, string>>;
}

/** A pod: its metadata, and the spec and status fields read by name (the rest kept as JSON). */
export interface PodObject {
  readonly metadata: ObjectMeta;
  readonly spec?: { readonly serviceAccountName?: string; readonly [key: string]: unknown };
  readonly status?: { readonly phase?: string; readonly [key: string]: unknown };
}

/** A Service: its selector decides the DNS SANs of the pods it selects. */
export interface ServiceObject {
  readonly metadata: ObjectMeta;
  readonly spec?: { readonly selector?: Readonly<Record<string, string>>; readonly [key: string]: unknown };
}

/** The leader-election Lease (coordination.k8s.io/v1). */
export interface LeaseObject {
  readonly metadata: ObjectMeta;
  readonly spec?: {
    readonly holderIdentity?: string;
    readonly leaseDurationSeconds?: number;
    readonly acquireTime?: string | Date;
    readonly renewTime?: string | Date;
    readonly leaseTransitions?: number;
  };
}

/** The workload kinds `onboard` restarts. */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

/** One status condition of a Deployment (Progressing, Available, ...). */
export interface WorkloadCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
}

/**
 * A Deployment, StatefulSet or DaemonSet reduced to what onboarding reads, with the three kinds' status fields
 * mapped onto one shape (a DaemonSet's desiredNumberScheduled is `desired`, updatedNumberScheduled `updated`…).
 */
export interface WorkloadObject {
  readonly kind: WorkloadKind;
  readonly metadata: ObjectMeta & { readonly generation?: number | undefined };
  readonly spec: {
    /** Deployment/StatefulSet spec.replicas (default 1); undefined for a DaemonSet. */
    readonly replicas?: number | undefined;
    readonly paused?: boolean | undefined;
    /** strategy.type (Deployment) or updateStrategy.type: RollingUpdate, Recreate, OnDelete. */
    readonly strategy?: string | undefined;
    readonly templateAnnotations?: Readonly<Record<string, string>> | undefined;
    readonly templateLabels?: Readonly<Record<string, string>> | undefined;
  };
  readonly status: {
    readonly observedGeneration?: number | undefined;
    /** Pods wanted: replicas, or a DaemonSet's desiredNumberScheduled. */
    readonly desired?: number | undefined;
    /** Pods that exist, old and new (status.replicas, currentNumberScheduled). */
    readonly current?: number | undefined;
    /** Pods created from the current template. */
    readonly updated?: number | undefined;
    readonly ready?: number | undefined;
    readonly available?: number | undefined;
    readonly currentRevision?: string | undefined;
    readonly updateRevision?: string | undefined;
    readonly conditions?: readonly WorkloadCondition[] | undefined;
  };
}

/** A ReplicaSet: only its ownerReferences matter (Pod → ReplicaSet → Deployment). */
export interface ReplicaSetObject {
  readonly metadata: ObjectMeta;
}

/** A Namespace: only its labels are read (the opt-in label). */
export interface NamespaceObject {
  readonly metadata: ObjectMeta;
}

/** One entry of a MutatingWebhookConfiguration, as `check` reads it. */
export interface WebhookEntry {
  readonly name: string;
  /** base64 PEM, '' when unset. */
  readonly caBundle: string;
  readonly service?: {
    readonly namespace: string;
    readonly name: string;
    readonly path?: string | undefined;
  };
  readonly url?: string | undefined;
  readonly failurePolicy?: string | undefined;
}

/** A MutatingWebhookConfiguration and its entries, as `check` reads it. */
export interface WebhookConfigurationObject {
  readonly name: string;
  readonly webhooks: readonly WebhookEntry[];
}

/** Ready and not-ready addresses behind a Service, from EndpointSlices (or v1 Endpoints when those fail). */
export interface EndpointSummary {
  readonly ready: number;
  readonly notReady: number;
  readonly source: 'EndpointSlice' | 'Endpoints';
}

/** What `onboard` needs: find workloads and their pods, restart one, watch its rollout. */
export interface WorkloadApi {
  getNamespace(name: string): Promise<NamespaceObject | undefined>;
  /** Pods as raw JSON from the API server (never through a client model), so decide() sees every field. */
  listPods(namespace: string): Promise<PodObject[]>;
  listReplicaSets(namespace: string): Promise<ReplicaSetObject[]>;
  /** Every Deployment, StatefulSet and DaemonSet in the namespace. */
  listWorkloads(namespace: string): Promise<WorkloadObject[]>;
  getWorkload(kind: WorkloadKind, namespace: string, name: string): Promise<WorkloadObject | undefined>;
  /** Sets the restartedAt pod-template annotation (a merge patch); answers the patched object. */
  restartWorkload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    restartedAt: string,
  ): Promise<WorkloadObject>;
}

/** What `check` reads besides Secrets. */
export interface InspectApi {
  getNamespace(name: string): Promise<NamespaceObject | undefined>;
  listPods(namespace: string): Promise<PodObject[]>;
  getPod(namespace: string, name: string): Promise<PodObject | undefined>;
  /** Pods of every namespace matching a label selector, raw JSON. */
  listPodsAllNamespaces(labelSelector: string): Promise<PodObject[]>;
  getWebhookConfiguration(name: string): Promise<WebhookConfigurationObject | undefined>;
  getService(namespace: string, name: string): Promise<ServiceObject | undefined>;
  serviceEndpoints(namespace: string, service: string): Promise<EndpointSummary>;
  /** Secrets of one namespace matching a label selector (one list instead of a get per pod). */
  listSecrets(namespace: string, labelSelector: string): Promise<SecretObject[]>;
  /** One ConfigMap (the trust bundle the rotator publishes). */
  getConfigMap(namespace: string, name: string): Promise<ConfigMapObject | undefined>;
}

/** Who an Event is about. */
export interface EventTarget {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
}

/** An API error with the HTTP status kept, so callers can tell 404/409/403/429/5xx apart. */
export class KubeApiError extends InjectorError {
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.KubeApi, message, options);
  }
}

/** Status of an error from the API, or undefined when it is not one (network errors, bugs). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.status : undefined;
}

/**
 * Options of one API call. Every call has a deadline (DEFAULT_CALL_TIMEOUT_MS of src/kube/client.ts unless
 * given); at it the request is aborted and its connection destroyed (MTLS_ERR_KUBE_API, no HTTP status). */
export interface CallOptions {
  readonly timeoutMs?: number | undefined;
}

/** CRUD on Secrets; reads answer undefined for 404, writes throw KubeApiError. */
export interface SecretApi {
  get(namespace: string, name: string, options?: CallOptions): Promise<SecretObject | undefined>;
  create(secret: SecretObject, options?: CallOptions): Promise<SecretObject>;
  /** Replaces with the resourceVersion in `secret.metadata`; 409 when it moved on. */
  replace(secret: SecretObject, options?: CallOptions): Promise<SecretObject>;
  delete(namespace: string, name: string, options?: CallOptions): Promise<void>;
  /** Every Secret in the cluster matching a label selector (e.g. the managed ones). */
  list(labelSelector: string): Promise<SecretObject[]>;
}

/**
 * ConfigMap reads and writes (trust bundles, delivery facts); reads answer undefined for 404, writes throw
 * KubeApiError (409 when the resourceVersion moved on).
 */
export interface ConfigMapApi {
  get(namespace: string, name: string, options?: CallOptions): Promise<ConfigMapObject | undefined>;
  create(cm: ConfigMapObject, options?: CallOptions): Promise<ConfigMapObject>;
  /** Replaces with the resourceVersion in `cm.metadata`; 409 when it moved on. */
  replace(cm: ConfigMapObject, options?: CallOptions): Promise<ConfigMapObject>;
}

/** Lease reads and writes for leader election. */
export interface LeaseApi {
  get(namespace: string, name: string, options?: CallOptions): Promise<LeaseObject | undefined>;
  create(lease: LeaseObject, options?: CallOptions): Promise<LeaseObject>;
  replace(lease: LeaseObject, options?: CallOptions): Promise<LeaseObject>;
}

/** Records Kubernetes Events; never throws (an Event that cannot be written is logged and dropped). */
export interface EventRecorder {
  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** The caBundle of our own MutatingWebhookConfiguration, and nothing else. */
export interface WebhookConfigApi {
  /**
   * The caBundle of every webhook entry (base64 PEM) and the object's uid, or undefined when the
   * configuration does not exist.
   */
  getCaBundles(
    name: string,
    options?: CallOptions,
  ): Promise<
    | { readonly caBundles: readonly string[]; readonly resourceVersion: string; readonly uid: string }
    | undefined
  >;
  /** Sets every entry's caBundle; 409 when resourceVersion moved on. */
  setCaBundle(
    name: string,
    caBundleBase64: string,
    resourceVersion: string,
    options?: CallOptions,
  ): Promise<void>;
}

/** A watched collection: callbacks for changes, and the current cache. */
export interface WatchSource<T> {
  start(handlers: WatchHandlers<T>): Promise<void>;
  stop(): void;
  list(): readonly T[];
}

/** What a watch calls: changes, failures and (re)syncs. */
export interface WatchHandlers<T> {
  readonly upsert: (obj: T) => void;
  readonly remove: (obj: T) => void;
  /** Called when the stream failed and is being re-established (readiness goes false until synced). */
  readonly error?: (err: unknown) => void;
  /** Called after a successful list (the first, and every relist) has been delivered; never after a failed one. */
  readonly synced?: () => void;
}

/** The certificates.k8s.io versions that serve PodCertificateRequests (v1 from 1.37, v1beta1 in 1.35/1.36). */
export const POD_CERTIFICATE_VERSIONS = ['v1', 'v1beta1'] as const;
export type PodCertificateVersion = (typeof POD_CERTIFICATE_VERSIONS)[number];

/** One condition of a PodCertificateRequest (metav1.Condition). */
export interface PodCertificateCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
  readonly observedGeneration?: number;
}

/**
 * A PodCertificateRequest (certificates.k8s.io/v1 or v1beta1), as the API server sends it: the kubelet files one
 * per podCertificate projected volume source (and one per refresh); the signer answers in `status`. The spec is
 * immutable; `stubPKCS10Request` arrives base64 in JSON (the DER CSR carrying the subject public key).
 */
export interface PodCertificateRequestObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly signerName: string;
    readonly podName: string;
    readonly podUID: string;
    readonly serviceAccountName: string;
    readonly serviceAccountUID?: string;
    readonly nodeName: string;
    readonly nodeUID?: string;
    readonly maxExpirationSeconds?: number;
    /** base64 DER PKCS#10 (v1; v1beta1 when the kubelet is new enough). */
    readonly stubPKCS10Request?: string;
    /** base64 DER SubjectPublicKeyInfo (v1beta1 only, deprecated there). */
    readonly pkixPublicKey?: string;
    readonly unverifiedUserAnnotations?: Readonly<Record<string, string>>;
  };
  readonly status?: {
    readonly conditions?: readonly PodCertificateCondition[];
    readonly certificateChain?: string;
    readonly notBefore?: string;
    readonly beginRefreshAt?: string;
    readonly notAfter?: string;
  };
}

/** A ClusterTrustBundle (certificates.k8s.io/v1 or v1beta1): the trust anchors of a signer, for pods to mount. */
export interface ClusterTrustBundleObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec: { readonly signerName?: string; readonly trustBundle: string };
}

/** What the API server serves of certificates.k8s.io for Pod Certificates, found by discovery at start. */
export interface ServedCertificateApis {
  /** The version serving podcertificaterequests (with /status), or undefined when none does. */
  readonly podCertificateRequests: PodCertificateVersion | undefined;
  /** The version serving clustertrustbundles, or undefined when none does. */
  readonly clusterTrustBundles: PodCertificateVersion | undefined;
  /** The API server's version (`/version` gitVersion), for reports. */
  readonly serverVersion: string;
}

/** PodCertificateRequests of one served version; reads answer undefined for 404, writes throw KubeApiError. */
export interface PodCertificateRequestApi {
  get(
    namespace: string,
    name: string,
    options?: CallOptions,
  ): Promise<PodCertificateRequestObject | undefined>;
  /** Writes `status` through the /status subresource with the resourceVersion in `metadata` (409 when stale). */
  updateStatus(pcr: PodCertificateRequestObject, options?: CallOptions): Promise<PodCertificateRequestObject>;
  /** Every PodCertificateRequest naming `signerName`, in one namespace or (without it) the whole cluster. */
  list(signerName: string, namespace?: string): Promise<PodCertificateRequestObject[]>;
}

/** ClusterTrustBundles (cluster-scoped) of one served version. */
export interface ClusterTrustBundleApi {
  get(name: string, options?: CallOptions): Promise<ClusterTrustBundleObject | undefined>;
  create(bundle: ClusterTrustBundleObject, options?: CallOptions): Promise<ClusterTrustBundleObject>;
  replace(bundle: ClusterTrustBundleObject, options?: CallOptions): Promise<ClusterTrustBundleObject>;
}

/** The four collections the rotator watches, as the product's types. */
export interface ClusterWatches {
  /** Pods matching `managedSelector` (the webhook's managed label), in every namespace. */
  readonly pods: WatchSource<PodObject>;
  /** Secrets matching `managedSelector`, in every namespace. */
  readonly secrets: WatchSource<SecretObject>;
  /** Every Service (their selectors decide the DNS SANs of the pods they select). */
  readonly services: WatchSource<ServiceObject>;
  /** Every Namespace (their opt-in labels decide where identities are issued; drift, onboarding). */
  readonly namespaces: WatchSource<NamespaceObject>;
}

/** Namespace/name key used for every map in the rotator. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
