import { labelValue } from '../core/secret-name.js';
import {
  CA_FILE,
  CERT_FILE,
  KEY_FILE,
  MANAGED_LABEL,
  POD_LABEL,
  SEAL_ANNOTATION,
  SPIFFE_ID_ANNOTATION,
} from '../core/names.js';
import type { OwnerReference, SecretObject } from '../kube/types.js';
import { encodeFiles } from './secret-data.js';

/** The pod a workload Secret belongs to. */
export interface SecretOwner {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/**
 * The workload Secret in the layout docs/design.md fixes: type kubernetes.io/tls, tls.crt (leaf + chain),
 * tls.key (PKCS#8), ca.crt (trust bundle), managed labels, and an ownerReference to the pod so the garbage
 * collector deletes it with the pod. `resourceVersion` is carried for an update. An issued pair with a seal
 * (src/pki/seal.ts) carries it in the mtls-injector.io/seal annotation.
 */
export function buildWorkloadSecret(
  secretName: string,
  owner: SecretOwner,
  spiffeId: string,
  issued: { readonly certPem: string; readonly keyPem: string; readonly seal?: string | undefined },
  trustBundlePem: string,
  resourceVersion?: string,
): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace: owner.namespace,
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
      labels: { [MANAGED_LABEL]: 'true', [POD_LABEL]: labelValue(owner.name) },
      annotations:
        issued.seal === undefined
          ? { [SPIFFE_ID_ANNOTATION]: spiffeId }
          : { [SPIFFE_ID_ANNOTATION]: spiffeId, [SEAL_ANNOTATION]: issued.seal },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Pod', name: owner.name, uid: owner.uid, controller: true },
      ],
    },
    type: 'kubernetes.io/tls',
    data: tlsData(issued.certPem, issued.keyPem, trustBundlePem),
  };
}

/** base64 data for the three files of a kubernetes.io/tls Secret with a trust bundle. */
export function tlsData(certPem: string, keyPem: string, bundlePem: string): Record<string, string> {
  return encodeFiles({ [CERT_FILE]: certPem, [KEY_FILE]: keyPem, [CA_FILE]: bundlePem });
}

/**
 * Whose a pod's Secret is, from what only the API server and mtls-injector write (the managed label, which
 * only the rotator sets on Secrets, and the controlling ownerReference): `not_managed` (no
 * mtls-injector.io/managed=true label: never ours to touch), `owned` (its controlling Pod is this pod),
 * `previous_pod` (its controlling Pod has this pod's name and another uid: an earlier pod of the same name,
 * e.g. a recreated StatefulSet replica, which cannot exist any more; the new pod takes it over), `other_pod`
 * (its controlling Pod is another pod: whether that pod still exists decides between a take-over and a
 * collision) or `not_owned` (no Pod owns it). A pod whose uid is not known is matched by name alone.
 */
export type SecretOwnership = 'not_managed' | 'previous_pod' | 'owned' | 'other_pod' | 'not_owned';

/**
 * The pod a workload Secret belongs to: its ownerReference of kind Pod with `controller: true`, or (Secrets
 * written before the flag was set) its first Pod ownerReference.
 */
export function controllingPod(secret: SecretObject): OwnerReference | undefined {
  const pods = (secret.metadata.ownerReferences ?? []).filter((o) => o.kind === 'Pod');
  return pods.find((o) => o.controller === true) ?? pods[0];
}

/** Judges whose `secret` is relative to the pod `name` (with `uid` when known). */
export function secretOwnership(
  secret: SecretObject,
  pod: { readonly name: string; readonly uid?: string | undefined },
): SecretOwnership {
  if (secret.metadata.labels?.[MANAGED_LABEL] !== 'true') return 'not_managed';
  const owner = controllingPod(secret);
  if (owner === undefined) return 'not_owned';
  if (pod.uid === undefined) return owner.name === pod.name ? 'owned' : 'other_pod';
  if (owner.uid === pod.uid) return 'owned';
  return owner.name === pod.name ? 'previous_pod' : 'other_pod';
}

/** `Pod web-0, ReplicaSet x`, or `nobody`: who a Secret's ownerReferences name, for messages. */
export function describeOwners(owners: readonly OwnerReference[]): string {
  return owners.length === 0 ? 'nobody' : owners.map((o) => `${o.kind} ${o.name}`).join(', ');
}
