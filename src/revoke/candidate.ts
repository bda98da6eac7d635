/** One certificate `revoke` resolved, and the small helpers the target resolvers share. */
import { ErrorCode, InjectorError } from '../core/errors.js';
import { namespaceProblem } from '../core/identity.js';
import { CERT_FILE } from '../core/names.js';
import type { SecretObject } from '../kube/types.js';
import { secretFile } from '../model/secret-data.js';
import { controllingPod } from '../model/workload-secret.js';
import type { LeafSummary } from '../pki/x509.js';
import { leafSummary } from '../pki/x509.js';

/** One certificate to revoke. */
export interface Candidate {
  readonly serial: string;
  /** SubjectKeyIdentifier (hex) of its issuer; null when unknown (a forced serial). */
  readonly issuer: string | null;
  readonly notAfter: Date;
  readonly identity: string | null;
  /** The pod whose Secret holds it. */
  readonly pod: {
    readonly namespace: string;
    readonly name: string;
    readonly uid: string | undefined;
  } | null;
  /** `namespace/name` of that Secret (null for a pod certificate). */
  readonly secret: string | null;
}

/** The candidate for a leaf held by `pod` (in Secret `secret`, or null for a pod certificate). */
export function candidate(leaf: LeafSummary, pod: Candidate['pod'], secret: string | null): Candidate {
  return {
    serial: leaf.serialHex,
    issuer: leaf.issuerKeyIdHex ?? null,
    notAfter: leaf.notAfter,
    identity: leaf.spiffeId ?? null,
    pod,
    secret,
  };
}

/** The leaf in a Secret's tls.crt, if readable. */
export function leafOf(secret: SecretObject): LeafSummary | undefined {
  const pem = secretFile(secret, CERT_FILE);
  return pem === undefined ? undefined : leafSummary(pem);
}

/** The pod a Secret's controlling ownerReference names. */
export function podOf(secret: SecretObject): Candidate['pod'] {
  const owner = controllingPod(secret);
  return owner === undefined
    ? null
    : { namespace: secret.metadata.namespace ?? '', name: owner.name, uid: owner.uid };
}

/** Throws a usage error for a malformed namespace (nothing was revoked). */
export function checkNamespace(namespace: string): void {
  const problem = namespaceProblem(namespace);
  if (problem !== undefined)
    throw new InjectorError(ErrorCode.UsageInvalid, `${problem}; nothing was revoked`);
}
