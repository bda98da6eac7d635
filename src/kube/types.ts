import { ErrorCode, InjectorError } from '../core/errors.js';

/**
 * The slices of Kubernetes objects the product reads and writes, and the narrow APIs it needs. Real
 * implementations live in src/kube (client-node); in-memory ones in test/fakes are passed in by tests.
 */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

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

export interface SecretObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly type?: string;
  /** base64 values, as the API returns them */
  readonly data?: Readonly<Record<string, string>>;
  readonly immutable?: boolean;
}

export interface PodObject {
  readonly metadata: ObjectMeta;
  readonly spec?: { readonly serviceAccountName?: string; readonly [key: string]: unknown };
  readonly status?: { readonly phase?: string; readonly [key: string]: unknown };
}

export interface ServiceObject {
  readonly metadata: ObjectMeta;
  readonly spec?: { readonly selector?: Readonly<Record<string, string>>; readonly [key: string]: unknown };
}

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

/** CRUD on Secrets; reads answer undefined for 404, writes throw KubeApiError. */
export interface SecretApi {
  get(namespace: string, name: string): Promise<SecretObject | undefined>;
  create(secret: SecretObject): Promise<SecretObject>;
  /** Replaces with the resourceVersion in `secret.metadata`; 409 when it moved on. */
  replace(secret: SecretObject): Promise<SecretObject>;
  delete(namespace: string, name: string): Promise<void>;
  /** Every Secret in the cluster matching a label selector (e.g. the managed ones). */
  list(labelSelector: string): Promise<SecretObject[]>;
}

/** Lease reads and writes for leader election. */
export interface LeaseApi {
  get(namespace: string, name: string): Promise<LeaseObject | undefined>;
  create(lease: LeaseObject): Promise<LeaseObject>;
  replace(lease: LeaseObject): Promise<LeaseObject>;
}

/** Records Kubernetes Events; never throws (an Event that cannot be written is logged and dropped). */
export interface EventRecorder {
  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** The caBundle of our own MutatingWebhookConfiguration, and nothing else. */
export interface WebhookConfigApi {
  /** The caBundle of every webhook entry (base64 PEM), or undefined when the configuration does not exist. */
  getCaBundles(
    name: string,
  ): Promise<{ readonly caBundles: readonly string[]; readonly resourceVersion: string } | undefined>;
  /** Sets every entry's caBundle; 409 when resourceVersion moved on. */
  setCaBundle(name: string, caBundleBase64: string, resourceVersion: string): Promise<void>;
}

/** A watched collection: callbacks for changes, and the current cache. */
export interface WatchSource<T> {
  start(handlers: WatchHandlers<T>): Promise<void>;
  stop(): void;
  list(): readonly T[];
}

export interface WatchHandlers<T> {
  readonly upsert: (obj: T) => void;
  readonly remove: (obj: T) => void;
  /** Called when the stream failed and is being re-established (readiness goes false until synced). */
  readonly error?: (err: unknown) => void;
  /** Called after the initial list (and every relist) has been delivered. */
  readonly synced?: () => void;
}

/** Namespace/name key used for every map in the rotator. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
