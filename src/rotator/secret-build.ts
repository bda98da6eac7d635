import { labelValue } from '../core/secret-name.js';
import {
  CA_FILE,
  CERT_FILE,
  KEY_FILE,
  MANAGED_LABEL,
  POD_LABEL,
  SPIFFE_ID_ANNOTATION,
} from '../core/names.js';
import type { SecretObject } from '../kube/types.js';
import type { IssuedIdentity } from './ports.js';

/** The largest Secret the API server stores (etcd request limit); refuse before writing (BAD-INPUTS D8). */
export const MAX_SECRET_BYTES = 1024 * 1024;

/** The pod a workload Secret belongs to. */
export interface SecretOwner {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/**
 * The workload Secret in the layout DESIGN.md fixes: type kubernetes.io/tls, tls.crt (leaf + chain),
 * tls.key (PKCS#8), ca.crt (trust bundle), managed labels, and an ownerReference to the pod so the garbage
 * collector deletes it with the pod. `resourceVersion` is carried for an update.
 */
export function buildWorkloadSecret(
  secretName: string,
  owner: SecretOwner,
  spiffeId: string,
  issued: Pick<IssuedIdentity, 'certPem' | 'keyPem'>,
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
    data: secretData(issued.certPem, issued.keyPem, trustBundlePem),
  };
}

/** base64 data for the three files. */
export function secretData(certPem: string, keyPem: string, bundlePem: string): Record<string, string> {
  return {
    [CERT_FILE]: Buffer.from(certPem).toString('base64'),
    [KEY_FILE]: Buffer.from(keyPem).toString('base64'),
    [CA_FILE]: Buffer.from(bundlePem).toString('base64'),
  };
}

/** Decodes one file of a Secret; undefined when missing. */
export function secretFile(secret: SecretObject, file: string): string | undefined {
  const value = secret.data?.[file];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/** Approximate stored size of a Secret's data, to refuse one over the API server's limit. */
export function secretDataBytes(secret: SecretObject): number {
  let total = 0;
  for (const value of Object.values(secret.data ?? {})) total += value.length;
  return total;
}
