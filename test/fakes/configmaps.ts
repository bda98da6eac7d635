import type { ConfigMapApi, ConfigMapObject } from '../../src/kube/types.js';
import { apiError } from './kube.js';

/**
 * The one in-memory ConfigMap store of the unit tests (the rotator's, `revoke`'s and `check`'s) with API-server
 * semantics: resourceVersion bumps on every write, a replace with a stale resourceVersion is 409, a create of an
 * existing name is 409. `calls` lists every call as `get|create|replace NS/NAME`; `beforeWrite` runs before each
 * write is applied, as another client writing in between would.
 */
export class FakeConfigMapApi implements ConfigMapApi {
  readonly objects = new Map<string, ConfigMapObject>();
  readonly calls: string[] = [];
  beforeWrite: (() => void) | undefined;
  private version = 100;

  get(namespace: string, name: string): Promise<ConfigMapObject | undefined> {
    this.calls.push(`get ${namespace}/${name}`);
    const found = this.objects.get(`${namespace}/${name}`);
    return Promise.resolve(found === undefined ? undefined : structuredClone(found));
  }

  create(cm: ConfigMapObject): Promise<ConfigMapObject> {
    const key = `${cm.metadata.namespace ?? ''}/${cm.metadata.name ?? ''}`;
    this.calls.push(`create ${key}`);
    this.beforeWrite?.();
    if (this.objects.has(key)) return Promise.reject(apiError(409, 'AlreadyExists'));
    return Promise.resolve(this.put(cm));
  }

  replace(cm: ConfigMapObject): Promise<ConfigMapObject> {
    const key = `${cm.metadata.namespace ?? ''}/${cm.metadata.name ?? ''}`;
    this.calls.push(`replace ${key}`);
    this.beforeWrite?.();
    const current = this.objects.get(key);
    if (current === undefined) return Promise.reject(apiError(404));
    if (current.metadata.resourceVersion !== cm.metadata.resourceVersion) {
      return Promise.reject(apiError(409, 'Conflict'));
    }
    return Promise.resolve(this.put(cm));
  }

  /** Stores directly, as another writer would; answers the stored object. */
  put(cm: ConfigMapObject): ConfigMapObject {
    const key = `${cm.metadata.namespace ?? ''}/${cm.metadata.name ?? ''}`;
    const stored: ConfigMapObject = structuredClone({
      ...cm,
      metadata: {
        ...cm.metadata,
        resourceVersion: String(++this.version),
        uid: `uid-cm-${cm.metadata.name ?? ''}`,
      },
    });
    this.objects.set(key, stored);
    return structuredClone(stored);
  }

  writes(): number {
    return this.calls.filter((c) => c.startsWith('create') || c.startsWith('replace')).length;
  }
}
