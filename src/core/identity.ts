import { ErrorCode, InjectorError } from './errors.js';

/** RFC 1123 label as Kubernetes validates namespace names: at most 63 characters. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain as Kubernetes validates service account names: at most 253 characters. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** SPIFFE trust domain: lowercase letters, digits, dots, dashes and underscores. */
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
/** The SPIFFE spec caps an ID at 2048 bytes. */
const MAX_SPIFFE_ID_BYTES = 2048;

/** A workload's identity: where it lives and who it runs as. */
export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>` */
  readonly spiffeId: string;
}

/** Why a name was refused, or undefined when it is valid. */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace.length === 0) return 'namespace is empty; expected a DNS-1123 label';
  if (namespace.length > 63) return `namespace is ${namespace.length} characters; expected at most 63`;
  if (!DNS1123_LABEL.test(namespace)) {
    return `namespace ${JSON.stringify(namespace)} is not a DNS-1123 label; expected lowercase letters, digits and '-'`;
  }
  return undefined;
}

/** Why a service account name was refused, or undefined when it is valid. */
export function serviceAccountProblem(serviceAccount: string): string | undefined {
  if (serviceAccount.length === 0) return 'serviceAccount is empty; expected a DNS-1123 subdomain';
  if (serviceAccount.length > 253) {
    return `serviceAccount is ${serviceAccount.length} characters; expected at most 253`;
  }
  if (!DNS1123_SUBDOMAIN.test(serviceAccount)) {
    return `serviceAccount ${JSON.stringify(serviceAccount)} is not a DNS-1123 subdomain; expected lowercase letters, digits, '-' and '.'`;
  }
  return undefined;
}

/** Why a trust domain was refused, or undefined when it is valid. */
export function trustDomainProblem(trustDomain: string): string | undefined {
  if (trustDomain.length === 0) return 'trustDomain is empty; expected e.g. cluster.local';
  if (trustDomain.length > 255)
    return `trustDomain is ${trustDomain.length} characters; expected at most 255`;
  if (!TRUST_DOMAIN.test(trustDomain)) {
    return `trustDomain ${JSON.stringify(trustDomain)} is invalid; expected lowercase letters, digits, '.', '-' and '_'`;
  }
  return undefined;
}

/**
 * The identity of a workload, derived only from its namespace and service account (never from annotations).
 * Throws InjectorError MTLS_ERR_IDENTITY_INVALID_NAME naming the field when a name is not valid.
 */
export function workloadIdentity(
  trustDomain: string,
  namespace: string,
  serviceAccount: string,
): WorkloadIdentity {
  const problem =
    trustDomainProblem(trustDomain) ?? namespaceProblem(namespace) ?? serviceAccountProblem(serviceAccount);
  if (problem !== undefined) throw new InjectorError(ErrorCode.InvalidName, `invalid identity: ${problem}`);
  const spiffeId = `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
  // Every part passed an ASCII-only pattern above, so the ID has one byte per character.
  const bytes = spiffeId.length;
  if (bytes > MAX_SPIFFE_ID_BYTES) {
    throw new InjectorError(
      ErrorCode.InvalidName,
      `invalid identity: SPIFFE ID is ${bytes} bytes; expected at most ${MAX_SPIFFE_ID_BYTES}`,
    );
  }
  return { trustDomain, namespace, serviceAccount, spiffeId };
}

/** Parses `spiffe://<td>/ns/<ns>/sa/<sa>`; undefined when the URI is not a workload ID of that shape. */
export function parseSpiffeId(uri: string): WorkloadIdentity | undefined {
  const match = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (match === null) return undefined;
  const [, trustDomain = '', namespace = '', serviceAccount = ''] = match;
  if (
    trustDomainProblem(trustDomain) ??
    namespaceProblem(namespace) ??
    serviceAccountProblem(serviceAccount)
  ) {
    return undefined;
  }
  return { trustDomain, namespace, serviceAccount, spiffeId: uri };
}
