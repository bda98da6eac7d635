import {
  type CallOptions,
  type ConfigMapApi,
  type ConfigMapObject,
  type EventRecorder,
  type EventTarget,
  KubeApiError,
  type LeaseApi,
  type LeaseObject,
  type SecretApi,
  type SecretObject,
  type WebhookConfigApi,
} from '../../src/kube/types.js';

/** One scripted failure: the next call of `op` (optionally for one name) fails with `status`. */
export interface Fault {
  readonly op: 'get' | 'create' | 'replace' | 'delete';
  readonly status: number;
  readonly name?: string;
  /** For create: store the object anyway and then fail (an answer lost on the way back, D5). */
  readonly afterWrite?: boolean;
}

/**
 * An in-memory Secret store with API-server semantics: resourceVersion bumps on every write, replace with a
 * stale resourceVersion is 409, create of an existing name is 409, immutable Secrets refuse data changes.
 * `watchers` receive every change like a watch stream.
 */
export class FakeSecretApi implements SecretApi {
  readonly objects = new Map<string, SecretObject>();
  readonly faults: Fault[] = [];
  readonly calls: { op: string; name: string; timeoutMs?: number | undefined }[] = [];
  readonly watchers: { upsert: (s: SecretObject) => void; remove: (s: SecretObject) => void }[] = [];
  private version = 1;

  get(namespace: string, name: string): Promise<SecretObject | undefined> {
    this.calls.push({ op: 'get', name });
    this.fail('get', name);
    return Promise.resolve(clone(this.objects.get(`${namespace}/${name}`)));
  }

  create(secret: SecretObject, options?: CallOptions): Promise<SecretObject> {
    const { namespace = '', name = '' } = secret.metadata;
    this.calls.push({ op: 'create', name, timeoutMs: options?.timeoutMs });
    const fault = this.takeFault('create', name);
    if (fault !== undefined && fault.afterWrite !== true) return Promise.reject(apiError(fault.status));
    if (this.objects.has(`${namespace}/${name}`)) return Promise.reject(apiError(409, 'AlreadyExists'));
    const stored = this.store(secret);
    if (fault !== undefined) return Promise.reject(apiError(fault.status));
    return Promise.resolve(stored);
  }

  replace(secret: SecretObject, options?: CallOptions): Promise<SecretObject> {
    const { namespace = '', name = '' } = secret.metadata;
    this.calls.push({ op: 'replace', name, timeoutMs: options?.timeoutMs });
    this.fail('replace', name);
    const current = this.objects.get(`${namespace}/${name}`);
    if (current === undefined) return Promise.reject(apiError(404));
    if (current.metadata.resourceVersion !== secret.metadata.resourceVersion)
      return Promise.reject(apiError(409, 'Conflict'));
    if (current.immutable === true)
      return Promise.reject(apiError(422, 'field is immutable when `immutable` is set'));
    return Promise.resolve(this.store(secret));
  }

  delete(namespace: string, name: string): Promise<void> {
    this.calls.push({ op: 'delete', name });
    this.fail('delete', name);
    const current = this.objects.get(`${namespace}/${name}`);
    this.objects.delete(`${namespace}/${name}`);
    if (current !== undefined) for (const w of this.watchers) w.remove(clone(current));
    return Promise.resolve();
  }

  list(labelSelector: string): Promise<SecretObject[]> {
    const [key, value] = labelSelector.split('=');
    return Promise.resolve(
      [...this.objects.values()]
        .filter((s) => key === undefined || s.metadata.labels?.[key] === value)
        .map((s) => structuredClone(s)),
    );
  }

  /** Writes directly, as another actor would (a user, an older release), and notifies watchers. */
  put(secret: SecretObject): SecretObject {
    return this.store(secret);
  }

  writes(): number {
    return this.calls.filter((c) => c.op === 'create' || c.op === 'replace').length;
  }

  private store(secret: SecretObject): SecretObject {
    const { namespace = '', name = '' } = secret.metadata;
    const stored: SecretObject = clone({
      ...secret,
      metadata: {
        ...secret.metadata,
        resourceVersion: String(++this.version),
        uid: secret.metadata.uid ?? `uid-${name}`,
      },
    });
    this.objects.set(`${namespace}/${name}`, stored);
    for (const w of this.watchers) w.upsert(clone(stored));
    return clone(stored);
  }

  private fail(op: Fault['op'], name: string): void {
    const fault = this.takeFault(op, name);
    if (fault !== undefined) throw apiError(fault.status);
  }

  private takeFault(op: Fault['op'], name: string): Fault | undefined {
    const i = this.faults.findIndex((f) => f.op === op && (f.name === undefined || f.name === name));
    if (i < 0) return undefined;
    return this.faults.splice(i, 1)[0];
  }
}

/** Events recorded in memory. */
export class FakeEvents implements EventRecorder {
  readonly events: { target: EventTarget; type: string; reason: string; message: string }[] = [];
  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.push({ target, type, reason, message });
  }
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

/** An in-memory ConfigMap store with API-server semantics (resourceVersion conflicts, 409 on create). */
export class FakeConfigMapApi implements ConfigMapApi {
  readonly objects = new Map<string, ConfigMapObject>();
  readonly calls: { op: string; name: string }[] = [];
  private version = 1;
  get(namespace: string, name: string): Promise<ConfigMapObject | undefined> {
    this.calls.push({ op: 'get', name });
    return Promise.resolve(clone(this.objects.get(`${namespace}/${name}`)));
  }
  create(cm: ConfigMapObject): Promise<ConfigMapObject> {
    const key = `${cm.metadata.namespace ?? ''}/${cm.metadata.name ?? ''}`;
    this.calls.push({ op: 'create', name: cm.metadata.name ?? '' });
    if (this.objects.has(key)) return Promise.reject(apiError(409, 'AlreadyExists'));
    return Promise.resolve(this.store(key, cm));
  }
  replace(cm: ConfigMapObject): Promise<ConfigMapObject> {
    const key = `${cm.metadata.namespace ?? ''}/${cm.metadata.name ?? ''}`;
    this.calls.push({ op: 'replace', name: cm.metadata.name ?? '' });
    const current = this.objects.get(key);
    if (current === undefined) return Promise.reject(apiError(404));
    if (current.metadata.resourceVersion !== cm.metadata.resourceVersion)
      return Promise.reject(apiError(409, 'Conflict'));
    return Promise.resolve(this.store(key, cm));
  }
  private store(key: string, cm: ConfigMapObject): ConfigMapObject {
    const stored = clone({ ...cm, metadata: { ...cm.metadata, resourceVersion: String(++this.version) } });
    this.objects.set(key, stored);
    return clone(stored);
  }
}

/** An in-memory Lease store with resourceVersion conflicts. */
export class FakeLeaseApi implements LeaseApi {
  lease: LeaseObject | undefined;
  unavailable = false;
  private version = 1;
  get(): Promise<LeaseObject | undefined> {
    if (this.unavailable) return Promise.reject(apiError(503));
    return Promise.resolve(clone(this.lease));
  }
  create(lease: LeaseObject): Promise<LeaseObject> {
    if (this.unavailable) return Promise.reject(apiError(503));
    if (this.lease !== undefined) return Promise.reject(apiError(409));
    return Promise.resolve(this.store(lease));
  }
  replace(lease: LeaseObject): Promise<LeaseObject> {
    if (this.unavailable) return Promise.reject(apiError(503));
    if (this.lease?.metadata.resourceVersion !== lease.metadata.resourceVersion)
      return Promise.reject(apiError(409));
    return Promise.resolve(this.store(lease));
  }
  private store(lease: LeaseObject): LeaseObject {
    this.lease = clone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.version) },
    });
    return structuredClone(this.lease);
  }
}

/** One MutatingWebhookConfiguration with three entries, resourceVersion-guarded like the API server. */
export class FakeWebhookConfig implements WebhookConfigApi {
  caBundles: string[] = ['', '', ''];
  version = 1;
  exists = true;
  uid = 'mwc-uid-1';
  getCaBundles() {
    return Promise.resolve(
      this.exists
        ? { caBundles: [...this.caBundles], resourceVersion: String(this.version), uid: this.uid }
        : undefined,
    );
  }
  setCaBundle(_name: string, caBundle: string, resourceVersion: string) {
    if (resourceVersion !== String(this.version)) return Promise.reject(apiError(409));
    this.caBundles = this.caBundles.map(() => caBundle);
    this.version += 1;
    return Promise.resolve();
  }
}

export function apiError(status: number, message = 'fake'): KubeApiError {
  return new KubeApiError(status, `fake API: HTTP ${status} ${message}`);
}

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}
