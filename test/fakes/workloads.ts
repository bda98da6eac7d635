import { MANAGED_LABEL, OPT_IN_LABEL } from '../../src/core/names.js';
import type {
  ConfigMapObject,
  OwnerReference,
  PodObject,
  SecretObject,
  ServiceObject,
} from '../../src/kube/types.js';
import {
  type EndpointSummary,
  type InspectApi,
  type NamespaceObject,
  type ReplicaSetObject,
  type WebhookConfigurationObject,
  type WorkloadApi,
  type WorkloadKind,
  type WorkloadObject,
} from '../../src/kube/types.js';
import { RESTARTED_AT_ANNOTATION } from '../../src/kube/workloads.js';
import { apiError } from './kube.js';

/**
 * How the fake "controller" moves a workload after a restart, called on every read with the number of reads
 * since the restart. Returns the status to show (observedGeneration is the caller's to set).
 */
export type ControllerScript = (
  workload: WorkloadObject,
  readsSinceRestart: number,
) => WorkloadObject['status'];

/** In-memory WorkloadApi + InspectApi: namespaces, pods, ReplicaSets, workloads, webhook configuration. */
export class FakeWorkloadApi implements WorkloadApi, InspectApi {
  readonly namespaces = new Map<string, NamespaceObject>();
  pods: PodObject[] = [];
  replicaSets: ReplicaSetObject[] = [];
  readonly workloads = new Map<string, WorkloadObject>();
  readonly scripts = new Map<string, ControllerScript>();
  readonly reads = new Map<string, number>();
  /** Every call, in order: `restart Deployment/a`, `get Deployment/a`, `list pods ns`… */
  readonly calls: string[] = [];
  /** Status code to fail the next restart of a workload key with. */
  readonly restartFaults = new Map<string, number>();
  /** Status code every call of a method name fails with (e.g. getWebhookConfiguration → 403). */
  readonly faults = new Map<string, number>();
  webhookConfiguration: WebhookConfigurationObject | undefined;
  readonly services = new Map<string, ServiceObject>();
  /** ConfigMaps by `namespace/name` (the trust bundle), unless `configMapSource` answers. */
  readonly configMaps = new Map<string, ConfigMapObject>();
  configMapSource: ((namespace: string, name: string) => ConfigMapObject | undefined) | undefined;
  readonly endpoints = new Map<string, EndpointSummary>();
  /** Secrets listSecrets answers from (check tests point it at their FakeSecretApi's store). */
  secretSource: (() => Iterable<SecretObject>) | undefined;
  /** Called after a restart, as the controller creating new pods would be. */
  onRestart: ((workload: WorkloadObject) => void) | undefined;

  addNamespace(name: string, labels: Record<string, string> = {}): this {
    this.namespaces.set(name, {
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
    });
    return this;
  }

  addWorkload(workload: WorkloadObject, script?: ControllerScript): this {
    const key = workloadKey(workload.kind, workload.metadata.namespace ?? '', workload.metadata.name ?? '');
    this.workloads.set(key, workload);
    if (script !== undefined) this.scripts.set(key, script);
    return this;
  }

  getNamespace(name: string): Promise<NamespaceObject | undefined> {
    return this.answer('getNamespace', `get namespace ${name}`, () => this.namespaces.get(name));
  }

  listPods(namespace: string): Promise<PodObject[]> {
    return this.answer('listPods', `list pods ${namespace}`, () =>
      this.pods.filter((p) => p.metadata.namespace === namespace),
    );
  }

  getPod(namespace: string, name: string): Promise<PodObject | undefined> {
    return this.answer('getPod', `get pod ${namespace}/${name}`, () =>
      this.pods.find((p) => p.metadata.namespace === namespace && p.metadata.name === name),
    );
  }

  listPodsAllNamespaces(labelSelector: string): Promise<PodObject[]> {
    const [key = '', value] = labelSelector.split('=');
    return this.answer('listPodsAllNamespaces', `list pods ${labelSelector}`, () =>
      this.pods.filter((p) => p.metadata.labels?.[key] === value),
    );
  }

  listReplicaSets(namespace: string): Promise<ReplicaSetObject[]> {
    return this.answer('listReplicaSets', `list replicasets ${namespace}`, () =>
      this.replicaSets.filter((r) => r.metadata.namespace === namespace),
    );
  }

  listWorkloads(namespace: string): Promise<WorkloadObject[]> {
    return this.answer('listWorkloads', `list workloads ${namespace}`, () =>
      [...this.workloads.values()].filter((w) => w.metadata.namespace === namespace),
    );
  }

  getWorkload(kind: WorkloadKind, namespace: string, name: string): Promise<WorkloadObject | undefined> {
    const key = workloadKey(kind, namespace, name);
    return this.answer('getWorkload', `get ${kind}/${name}`, () => {
      const current = this.workloads.get(key);
      if (current === undefined) return undefined;
      const reads = (this.reads.get(key) ?? 0) + 1;
      this.reads.set(key, reads);
      const script = this.scripts.get(key);
      if (script === undefined) return current;
      const next = { ...current, status: script(current, reads) };
      this.workloads.set(key, next);
      return next;
    });
  }

  restartWorkload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    restartedAt: string,
  ): Promise<WorkloadObject> {
    const key = workloadKey(kind, namespace, name);
    this.calls.push(`restart ${kind}/${name} ${restartedAt}`);
    const fault = this.restartFaults.get(key);
    if (fault !== undefined) return Promise.reject(apiError(fault));
    const current = this.workloads.get(key);
    if (current === undefined) return Promise.reject(apiError(404));
    const next: WorkloadObject = {
      ...current,
      metadata: { ...current.metadata, generation: (current.metadata.generation ?? 1) + 1 },
      spec: {
        ...current.spec,
        templateAnnotations: {
          ...(current.spec.templateAnnotations ?? {}),
          [RESTARTED_AT_ANNOTATION]: restartedAt,
        },
      },
    };
    this.workloads.set(key, next);
    this.reads.set(key, 0);
    this.onRestart?.(next);
    return Promise.resolve(structuredClone(next));
  }

  getWebhookConfiguration(name: string): Promise<WebhookConfigurationObject | undefined> {
    return this.answer('getWebhookConfiguration', `get webhookconfiguration ${name}`, () =>
      this.webhookConfiguration?.name === name ? this.webhookConfiguration : undefined,
    );
  }

  getConfigMap(namespace: string, name: string): Promise<ConfigMapObject | undefined> {
    return this.answer('getConfigMap', `get configmap ${namespace}/${name}`, () =>
      this.configMapSource !== undefined
        ? this.configMapSource(namespace, name)
        : this.configMaps.get(`${namespace}/${name}`),
    );
  }

  getService(namespace: string, name: string): Promise<ServiceObject | undefined> {
    return this.answer('getService', `get service ${namespace}/${name}`, () =>
      this.services.get(`${namespace}/${name}`),
    );
  }

  serviceEndpoints(namespace: string, service: string): Promise<EndpointSummary> {
    return this.answer(
      'serviceEndpoints',
      `endpoints ${namespace}/${service}`,
      () =>
        this.endpoints.get(`${namespace}/${service}`) ?? {
          ready: 0,
          notReady: 0,
          source: 'EndpointSlice' as const,
        },
    );
  }

  listSecrets(namespace: string, labelSelector: string): Promise<SecretObject[]> {
    const [key = '', value] = labelSelector.split('=');
    return this.answer('listSecrets', `list secrets ${namespace} ${labelSelector}`, () =>
      [...(this.secretSource?.() ?? [])].filter(
        (s) => s.metadata.namespace === namespace && s.metadata.labels?.[key] === value,
      ),
    );
  }

  private answer<T>(method: string, call: string, fn: () => T): Promise<T> {
    this.calls.push(call);
    const fault = this.faults.get(method);
    if (fault !== undefined) return Promise.reject(apiError(fault));
    return Promise.resolve(structuredClone(fn()));
  }
}

export function workloadKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** A workload whose status says it is fully rolled out at generation 1. */
export function workload(
  kind: WorkloadKind,
  name: string,
  options: { namespace?: string; replicas?: number; paused?: boolean; strategy?: string } = {},
): WorkloadObject {
  const replicas = options.replicas ?? 2;
  return {
    kind,
    metadata: { name, namespace: options.namespace ?? 'shop', uid: `uid-${kind}-${name}`, generation: 1 },
    spec: {
      replicas: kind === 'DaemonSet' ? undefined : replicas,
      paused: options.paused,
      strategy: options.strategy ?? 'RollingUpdate',
    },
    status: {
      observedGeneration: 1,
      desired: replicas,
      current: replicas,
      updated: replicas,
      ready: replicas,
      available: replicas,
    },
  };
}

/** A ReplicaSet `<deployment>-<hash>` owned by a Deployment. */
export function replicaSet(deployment: string, hash: string, namespace = 'shop'): ReplicaSetObject {
  return {
    metadata: {
      name: `${deployment}-${hash}`,
      namespace,
      uid: `uid-rs-${deployment}-${hash}`,
      ownerReferences: [owner('Deployment', deployment)],
    },
  };
}

export function owner(
  kind: string,
  name: string,
  apiVersion = kind === 'Job' ? 'batch/v1' : 'apps/v1',
): OwnerReference {
  return { apiVersion, kind, name, uid: `uid-${kind}-${name}`, controller: true };
}

/** A stored pod (raw JSON shape) with one container. */
export function storedPod(
  name: string,
  options: {
    namespace?: string;
    owner?: OwnerReference;
    hash?: string;
    injected?: boolean;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    serviceAccount?: string;
    phase?: string;
    created?: string;
    terminating?: boolean;
    optIn?: boolean;
  } = {},
): PodObject {
  const labels: Record<string, string> = { app: 'web', ...(options.labels ?? {}) };
  if (options.hash !== undefined) labels['pod-template-hash'] = options.hash;
  if (options.injected === true) labels[MANAGED_LABEL] = 'true';
  if (options.optIn === true) labels[OPT_IN_LABEL] = 'enabled';
  return {
    metadata: {
      name,
      namespace: options.namespace ?? 'shop',
      uid: `uid-pod-${name}`,
      labels,
      ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
      ...(options.owner === undefined ? {} : { ownerReferences: [options.owner] }),
      creationTimestamp: options.created ?? '2026-11-22T00:00:00Z',
      ...(options.terminating === true ? { deletionTimestamp: '2026-11-23T00:00:01Z' } : {}),
    },
    spec: {
      serviceAccountName: options.serviceAccount ?? 'web',
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
    },
    status: { phase: options.phase ?? 'Running' },
  };
}
