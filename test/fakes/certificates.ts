/**
 * In-memory PodCertificateRequests, ClusterTrustBundles and ConfigMaps with the API server's semantics that
 * matter to the signer: resourceVersion on every write (409 when stale), and a PodCertificateRequest status that
 * is immutable once it carries Issued, Denied or Failed (422 then), as ValidatePodCertificateRequestStatusUpdate
 * enforces. `watchers` receive every change like a watch stream.
 */
import type {
  CallOptions,
  ClusterTrustBundleApi,
  ClusterTrustBundleObject,
  ConfigMapApi,
  ConfigMapObject,
  PodCertificateRequestApi,
  PodCertificateRequestObject,
} from '../../src/kube/types.js';
import { apiError } from './kube.js';

type Named = { metadata: { namespace?: string; name?: string; resourceVersion?: string } };

class Store<T extends Named> {
  readonly objects = new Map<string, T>();
  readonly writes: string[] = [];
  /** The deadline (`timeoutMs`) each write was given, in the order of the writes attempted. */
  readonly deadlines: (number | undefined)[] = [];
  readonly faults: { op: string; status: number }[] = [];
  readonly watchers: { upsert: (o: T) => void; remove: (o: T) => void }[] = [];
  private version = 1;

  key(o: Named): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  }

  get(key: string): T | undefined {
    const found = this.objects.get(key);
    return found === undefined ? undefined : structuredClone(found);
  }

  fail(op: string): void {
    const i = this.faults.findIndex((f) => f.op === op);
    if (i >= 0) {
      const [fault] = this.faults.splice(i, 1);
      throw apiError(fault?.status ?? 500);
    }
  }

  create(o: T): T {
    this.fail('create');
    if (this.objects.has(this.key(o))) throw apiError(409, 'AlreadyExists');
    return this.store(o, 'create');
  }

  replace(o: T, op = 'replace'): T {
    this.fail(op);
    const current = this.objects.get(this.key(o));
    if (current === undefined) throw apiError(404);
    if (current.metadata.resourceVersion !== o.metadata.resourceVersion) throw apiError(409, 'Conflict');
    return this.store(o, op);
  }

  /** Writes as another actor would (the kubelet, a user) and notifies watchers. */
  put(o: T): T {
    return this.store(o, 'put');
  }

  delete(o: Named): void {
    const current = this.objects.get(this.key(o));
    this.objects.delete(this.key(o));
    if (current !== undefined) for (const w of this.watchers) w.remove(structuredClone(current));
  }

  private store(o: T, op: string): T {
    const stored = structuredClone({
      ...o,
      metadata: { ...o.metadata, resourceVersion: String(++this.version) },
    });
    this.objects.set(this.key(stored), stored);
    this.writes.push(`${op} ${this.key(stored)}`);
    for (const w of this.watchers) w.upsert(structuredClone(stored));
    return structuredClone(stored);
  }
}

const TERMINAL = new Set(['Issued', 'Denied', 'Failed']);

export class FakePodCertificateRequests implements PodCertificateRequestApi {
  readonly store = new Store<PodCertificateRequestObject>();

  get(namespace: string, name: string): Promise<PodCertificateRequestObject | undefined> {
    return Promise.resolve(this.store.get(`${namespace}/${name}`));
  }

  updateStatus(
    pcr: PodCertificateRequestObject,
    options?: CallOptions,
  ): Promise<PodCertificateRequestObject> {
    this.store.deadlines.push(options?.timeoutMs);
    return attempt(() => {
      const current = this.store.get(this.store.key(pcr));
      if (current?.status?.conditions?.some((c) => TERMINAL.has(c.type)))
        throw apiError(422, 'status: immutable after PodCertificateRequest is issued, denied, or failed');
      // Only the status is taken from the body, as the /status subresource does.
      return this.store.replace(
        { ...(current ?? pcr), metadata: pcr.metadata, status: pcr.status ?? {} },
        'status',
      );
    });
  }

  list(signerName: string, namespace?: string): Promise<PodCertificateRequestObject[]> {
    return Promise.resolve(
      [...this.store.objects.values()]
        .filter((p) => p.spec.signerName === signerName)
        .filter((p) => namespace === undefined || p.metadata.namespace === namespace)
        .map((p) => structuredClone(p)),
    );
  }

  /** The status written to a request, if any. */
  status(namespace: string, name: string): PodCertificateRequestObject['status'] {
    return this.store.get(`${namespace}/${name}`)?.status;
  }
}

export class FakeClusterTrustBundles implements ClusterTrustBundleApi {
  readonly store = new Store<ClusterTrustBundleObject>();
  get(name: string): Promise<ClusterTrustBundleObject | undefined> {
    return Promise.resolve(this.store.get(`/${name}`));
  }
  create(bundle: ClusterTrustBundleObject, options?: CallOptions): Promise<ClusterTrustBundleObject> {
    this.store.deadlines.push(options?.timeoutMs);
    return attempt(() => this.store.create(bundle));
  }
  replace(bundle: ClusterTrustBundleObject, options?: CallOptions): Promise<ClusterTrustBundleObject> {
    this.store.deadlines.push(options?.timeoutMs);
    return attempt(() => this.store.replace(bundle));
  }
}

export class FakeConfigMaps implements ConfigMapApi {
  readonly store = new Store<ConfigMapObject>();
  get(namespace: string, name: string): Promise<ConfigMapObject | undefined> {
    return Promise.resolve(this.store.get(`${namespace}/${name}`));
  }
  create(cm: ConfigMapObject, options?: CallOptions): Promise<ConfigMapObject> {
    this.store.deadlines.push(options?.timeoutMs);
    return attempt(() => this.store.create(cm));
  }
  replace(cm: ConfigMapObject, options?: CallOptions): Promise<ConfigMapObject> {
    this.store.deadlines.push(options?.timeoutMs);
    return attempt(() => this.store.replace(cm));
  }
}

/** Runs `fn` as an API call would: what it throws becomes the rejection. */
function attempt<T>(fn: () => T): Promise<T> {
  return Promise.resolve().then(fn);
}
