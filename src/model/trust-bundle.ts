import { CA_FILE } from '../core/names.js';
import type { ConfigMapObject } from '../kube/types.js';

/** Key of the trust-bundle ConfigMap holding the issuing CA's certificate and chain (public, never the key). */
export const ISSUER_FILE = 'issuer.crt';
/** Annotation the rotator sets while the CA Secret is lost (its value says what to do). */
export const CA_LOST_ANNOTATION = 'mtls-injector.io/ca-lost';
/** Annotation the rotator sets while the CA Secret cannot be used (its value says why). */
export const CA_PROBLEM_ANNOTATION = 'mtls-injector.io/ca-problem';

/** What the trust-bundle ConfigMap tells: the roots to trust, the issuing CA, and the rotator's CA state. */
export interface TrustBundle {
  /** Every root workloads trust (the CA Secret's ca.crt); '' when not known yet. */
  readonly bundlePem: string;
  /** The issuing CA certificate and its chain; '' when not known yet. */
  readonly issuerPem: string;
  /** Set while the CA Secret is missing and workload Secrets exist: what happened and what to do. */
  readonly lost: string | undefined;
  /** Set while the CA Secret exists but cannot be used: why. */
  readonly problem: string | undefined;
}

/**
 * The ConfigMap the rotator publishes in the install namespace: the public half of the CA Secret (ca.crt and
 * issuer.crt) and the CA's state as annotations. Anyone may read it (`check`, tooling, other meshes that want
 * to trust these workloads) without access to the CA key.
 */
export function buildTrustBundleConfigMap(
  namespace: string,
  name: string,
  bundle: TrustBundle,
  resourceVersion?: string,
): ConfigMapObject {
  const annotations: Record<string, string> = {};
  if (bundle.lost !== undefined) annotations[CA_LOST_ANNOTATION] = bundle.lost;
  if (bundle.problem !== undefined) annotations[CA_PROBLEM_ANNOTATION] = bundle.problem;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace,
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
      labels: { 'app.kubernetes.io/name': 'mtls-injector', 'app.kubernetes.io/component': 'trust-bundle' },
      annotations,
    },
    data: { [CA_FILE]: bundle.bundlePem, [ISSUER_FILE]: bundle.issuerPem },
  };
}

/** Reads a trust-bundle ConfigMap. */
export function readTrustBundleConfigMap(cm: ConfigMapObject): TrustBundle {
  const annotations = cm.metadata.annotations ?? {};
  return {
    bundlePem: cm.data?.[CA_FILE] ?? '',
    issuerPem: cm.data?.[ISSUER_FILE] ?? '',
    lost: annotations[CA_LOST_ANNOTATION],
    problem: annotations[CA_PROBLEM_ANNOTATION],
  };
}

/** Whether two ConfigMaps carry the same bundle, issuer and state (what the rotator would rewrite). */
export function sameTrustBundle(a: ConfigMapObject, b: ConfigMapObject): boolean {
  const x = readTrustBundleConfigMap(a);
  const y = readTrustBundleConfigMap(b);
  return (
    x.bundlePem === y.bundlePem && x.issuerPem === y.issuerPem && x.lost === y.lost && x.problem === y.problem
  );
}
