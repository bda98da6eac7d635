import type { V1Lease, V1Namespace, V1Pod, V1ReplicaSet, V1Secret, V1Service } from '@kubernetes/client-node';
import type {
  LeaseObject,
  NamespaceObject,
  PodObject,
  ReplicaSetObject,
  SecretObject,
  ServiceObject,
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
