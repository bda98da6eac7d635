import type {
  V1DaemonSet,
  V1Deployment,
  V1Lease,
  V1Namespace,
  V1Pod,
  V1ReplicaSet,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type {
  LeaseObject,
  NamespaceObject,
  PodObject,
  ReplicaSetObject,
  SecretObject,
  ServiceObject,
  WorkloadObject,
} from './types.js';

/*
 * client-node's models as the product's object types. Every field is kept (the models are spread, not
 * sliced), so an object read here and written back loses nothing the model held; only `metadata` becomes
 * required, as the API server always sends it.
 */

/** A pod from client-node. */
export function podFromModel(pod: V1Pod): PodObject {
  return { metadata: pod.metadata ?? {}, spec: { ...pod.spec }, status: { ...pod.status } };
}

/** A Secret from client-node. */
export function secretFromModel(secret: V1Secret): SecretObject {
  return { ...secret, metadata: secret.metadata ?? {} };
}

/** A Service from client-node. */
export function serviceFromModel(service: V1Service): ServiceObject {
  return { metadata: service.metadata ?? {}, spec: { ...service.spec } };
}

/** A Namespace from client-node. */
export function namespaceFromModel(namespace: V1Namespace): NamespaceObject {
  return { metadata: namespace.metadata ?? {} };
}

/** A ReplicaSet from client-node (only its metadata is read). */
export function replicaSetFromModel(replicaSet: V1ReplicaSet): ReplicaSetObject {
  return { metadata: replicaSet.metadata ?? {} };
}

/** A Lease from client-node. */
export function leaseFromModel(lease: V1Lease): LeaseObject {
  return { metadata: lease.metadata ?? {}, spec: { ...lease.spec } };
}

function templateMeta(template: {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}) {
  return {
    templateAnnotations: template.metadata?.annotations,
    templateLabels: template.metadata?.labels,
  };
}

/** A Deployment as the workload shape onboarding reads. */
export function fromDeployment(d: V1Deployment): WorkloadObject {
  const status = d.status ?? {};
  return {
    kind: 'Deployment',
    metadata: d.metadata as WorkloadObject['metadata'],
    spec: {
      replicas: d.spec?.replicas ?? 1,
      paused: d.spec?.paused,
      strategy: d.spec?.strategy?.type ?? 'RollingUpdate',
      ...templateMeta(d.spec?.template ?? {}),
    },
    status: {
      observedGeneration: status.observedGeneration,
      desired: d.spec?.replicas ?? 1,
      current: status.replicas ?? 0,
      updated: status.updatedReplicas ?? 0,
      ready: status.readyReplicas ?? 0,
      available: status.availableReplicas ?? 0,
      conditions: status.conditions?.map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
      })),
    },
  };
}

/** A StatefulSet as the workload shape onboarding reads. */
export function fromStatefulSet(s: V1StatefulSet): WorkloadObject {
  const status = s.status;
  return {
    kind: 'StatefulSet',
    metadata: s.metadata as WorkloadObject['metadata'],
    spec: {
      replicas: s.spec?.replicas ?? 1,
      strategy: s.spec?.updateStrategy?.type ?? 'RollingUpdate',
      ...templateMeta(s.spec?.template ?? {}),
    },
    status: {
      observedGeneration: status?.observedGeneration,
      desired: s.spec?.replicas ?? 1,
      current: status?.replicas ?? 0,
      updated: status?.updatedReplicas ?? 0,
      ready: status?.readyReplicas ?? 0,
      available: status?.availableReplicas ?? 0,
      currentRevision: status?.currentRevision,
      updateRevision: status?.updateRevision,
    },
  };
}

/** A DaemonSet as the workload shape onboarding reads. */
export function fromDaemonSet(d: V1DaemonSet): WorkloadObject {
  const status = d.status;
  return {
    kind: 'DaemonSet',
    metadata: d.metadata as WorkloadObject['metadata'],
    spec: {
      strategy: d.spec?.updateStrategy?.type ?? 'RollingUpdate',
      ...templateMeta(d.spec?.template ?? {}),
    },
    status: {
      observedGeneration: status?.observedGeneration,
      desired: status?.desiredNumberScheduled ?? 0,
      current: status?.currentNumberScheduled ?? 0,
      updated: status?.updatedNumberScheduled ?? 0,
      ready: status?.numberReady ?? 0,
      available: status?.numberAvailable ?? 0,
    },
  };
}
