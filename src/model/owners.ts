import type { ObjectMeta, OwnerReference, PodObject } from '../kube/types.js';
import type { ReplicaSetObject, WorkloadKind } from '../kube/types.js';

/** The label the Deployment controller puts on a ReplicaSet's pods: `<deployment>-<hash>` is the RS name. */
const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** What owns a pod, followed up to the object a user manages. */
export type PodOwner =
  | { readonly restartable: true; readonly kind: WorkloadKind; readonly name: string }
  | {
      readonly restartable: false;
      /** The owner's kind (ReplicaSet without a Deployment, Job, Node for mirror pods, a custom resource…). */
      readonly kind: string;
      readonly name: string;
    };

/** The controlling ownerReference (controller: true), else the first one, else undefined. */
function controllerOf(meta: ObjectMeta | undefined): OwnerReference | undefined {
  const refs = meta?.ownerReferences ?? [];
  return refs.find((r) => r.controller === true) ?? refs[0];
}

/**
 * The workload that owns a pod: Pod → ReplicaSet → Deployment, Pod → StatefulSet, Pod → DaemonSet. A
 * ReplicaSet is followed through `replicaSets` when given; without them (the rotator's drift report sees only
 * pods) a ReplicaSet named `<deployment>-<pod-template-hash>` is attributed to that Deployment. Undefined for
 * a bare pod.
 */
export function podOwner(pod: PodObject, replicaSets?: readonly ReplicaSetObject[]): PodOwner | undefined {
  const ref = controllerOf(pod.metadata);
  if (ref === undefined) return undefined;
  const group = ref.apiVersion.split('/')[0];
  if (group === 'apps' && (ref.kind === 'StatefulSet' || ref.kind === 'DaemonSet')) {
    return { restartable: true, kind: ref.kind, name: ref.name };
  }
  if (group === 'apps' && ref.kind === 'ReplicaSet') {
    const deployment = replicaSetOwner(ref, pod.metadata.labels?.[POD_TEMPLATE_HASH_LABEL], replicaSets);
    if (deployment !== undefined) return { restartable: true, kind: 'Deployment', name: deployment };
  }
  return { restartable: false, kind: ref.kind, name: ref.name };
}

function replicaSetOwner(
  ref: OwnerReference,
  hash: string | undefined,
  replicaSets: readonly ReplicaSetObject[] | undefined,
): string | undefined {
  if (replicaSets !== undefined) {
    const rs = replicaSets.find((r) => r.metadata.uid === ref.uid || r.metadata.name === ref.name);
    const owner = controllerOf(rs?.metadata);
    if (owner !== undefined && owner.kind === 'Deployment' && owner.apiVersion.startsWith('apps/')) {
      return owner.name;
    }
    if (rs !== undefined) return undefined;
  }
  if (hash !== undefined && hash !== '' && ref.name.endsWith(`-${hash}`)) {
    return ref.name.slice(0, -hash.length - 1);
  }
  return undefined;
}

/** `Deployment/web`, for messages and keys. */
export function ownerKey(owner: { readonly kind: string; readonly name: string }): string {
  return `${owner.kind}/${owner.name}`;
}
