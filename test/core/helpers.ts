import type { InjectionSettings } from '../../src/core/policy/settings.js';
import type { AdmissionReview } from '../../src/core/review.js';

/** Settings the tests inject with (the config defaults). */
export const SETTINGS: InjectionSettings = {
  trustDomain: 'cluster.local',
  initEnabled: true,
  initImage: 'ghcr.io/mtls-injector/mtls-init:0.1.0',
  initImagePullPolicy: 'IfNotPresent',
  windowsInitImage: '',
  initWaitTimeoutSeconds: 120,
  failOpen: false,
  delivery: {
    mode: 'auto',
    signerName: 'mtls-injector.io/spiffe',
    keyType: 'ECDSAP256',
    maxExpirationSeconds: 86_400,
    trustBundle: 'auto',
    trustBundleConfigMap: 'mtls-injector-trust-bundle',
    facts: undefined,
  },
};

/** Facts as a rotator on Kubernetes 1.37 publishes them: v1 PodCertificateRequests and ClusterTrustBundles. */
export const FACTS_1_37 = {
  podCertificateRequests: 'certificates.k8s.io/v1',
  clusterTrustBundles: 'certificates.k8s.io/v1',
  serverVersion: 'v1.37.2',
  detectedAt: '2026-11-23T00:00:00Z',
  detectedBy: 'mtls-injector-rotator-0',
} as const;

/** Facts as a rotator on Kubernetes 1.34 (gates off) publishes them: nothing served. */
export const FACTS_1_34 = {
  podCertificateRequests: null,
  clusterTrustBundles: null,
  serverVersion: 'v1.34.4',
  detectedAt: '2026-11-23T00:00:00Z',
  detectedBy: 'mtls-injector-rotator-0',
} as const;

export const EXCLUDED = ['kube-system', 'kube-node-lease', 'mtls-injector'] as const;
export const SUFFIX = 'x7k2pmq4wz';

/** An AdmissionReview v1 for a pod CREATE in `namespace`; tests also build invalid ones (a null object). */
export function podReview(
  pod: unknown,
  overrides: Partial<AdmissionReview['request']> & { apiVersion?: AdmissionReview['apiVersion'] } = {},
): AdmissionReview {
  const { apiVersion = 'admission.k8s.io/v1', ...request } = overrides;
  return {
    apiVersion,
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'team-a',
      operation: 'CREATE',
      object: pod,
      dryRun: false,
      ...request,
    },
  } as AdmissionReview;
}

/** A small, valid pod. */
export function simplePod(name = 'web'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'team-a', labels: { app: 'web' } },
    spec: {
      serviceAccountName: 'web',
      containers: [{ name: 'app', image: 'registry.example/web:1.0', ports: [{ containerPort: 8443 }] }],
    },
  };
}
