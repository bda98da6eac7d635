import { labelValue } from '../core/secret-name.js';
import {
  CA_FILE,
  CERT_FILE,
  KEY_FILE,
  MANAGED_LABEL,
  POD_LABEL,
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
 * collector deletes it with the pod. `resourceVersion` is carried for an update.
 */
export function buildWorkloadSecret(
  secretName: string,
  owner: SecretOwner,
  spiffeId: string,
  issued: { readonly certPem: string; readonly keyPem: string },
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
      annotations: { [SPIFFE_ID_ANNOTATION]: spiffeId },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: owner.name, uid: owner.uid }],
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
 * Whose a pod's Secret is, from what only the API server and mtls-injector write: `not_managed` (no
 * mtls-injector.io/managed=true label: never ours to touch), `previous_pod` (it names an earlier pod of the same
 * name, e.g. a recreated StatefulSet replica: the new pod takes it over), `owned` (an ownerReference to this
 * pod) or `not_owned`. A pod whose uid is not known is matched by name alone.
 */
export type SecretOwnership = 'not_managed' | 'previous_pod' | 'owned' | 'not_owned';

/** Judges whose `secret` is relative to the pod `name` (with `uid` when known). */
export function secretOwnership(
  secret: SecretObject,
  pod: { readonly name: string; readonly uid?: string | undefined },
): SecretOwnership {
  if (secret.metadata.labels?.[MANAGED_LABEL] !== 'true') return 'not_managed';
  const pods = (secret.metadata.ownerReferences ?? []).filter((o) => o.kind === 'Pod');
  const { uid } = pod;
  if (uid !== undefined && pods.some((o) => o.name === pod.name && o.uid !== uid)) return 'previous_pod';
  if (pods.some((o) => (uid === undefined ? o.name === pod.name : o.uid === uid))) return 'owned';
  return 'not_owned';
}

/** `Pod web-0, ReplicaSet x`, or `nobody`: who a Secret's ownerReferences name, for messages. */
export function describeOwners(owners: readonly OwnerReference[]): string {
  return owners.length === 0 ? 'nobody' : owners.map((o) => `${o.kind} ${o.name}`).join(', ');
}
