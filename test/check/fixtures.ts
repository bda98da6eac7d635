import { loadConfig } from '../../src/config/loader.js';
import { decide } from '../../src/core/policy/decide.js';
import type { InjectionSettings } from '../../src/core/policy/settings.js';
import { excludedNamespaces, injectionSettings } from '../../src/config/injection.js';
import type { PodObject, SecretObject } from '../../src/kube/types.js';
import type { WebhookConfigurationObject } from '../../src/kube/types.js';
import { type CertificateAuthority, generateRootCa } from '../../src/pki/ca.js';
import { issueLeaf, issueWorkloadIdentity } from '../../src/pki/issue.js';
import { encodeFiles } from '../../src/model/secret-data.js';
import { newCaSecret } from '../../src/model/ca-secret.js';
import { buildWorkloadSecret } from '../../src/model/workload-secret.js';
import { WEBHOOK_ENTRIES } from '../../src/check/cluster.js';
import type { CheckOptions } from '../../src/check/run.js';

export const NOW = new Date('2026-11-23T12:00:00Z');
export const DAY = 86_400;
export const config = loadConfig({});
export const settings = injectionSettings(config);
export const excluded = excludedNamespaces(config);

/** A root CA valid for `days` from `now` (default 10 years from NOW). */
export function rootCa(options: { now?: Date; days?: number } = {}): CertificateAuthority {
  return generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: (options.days ?? 3650) * DAY,
    now: options.now ?? NOW,
    backdateSeconds: 3600,
  });
}

export function caSecret(ca: CertificateAuthority): SecretObject {
  return newCaSecret(ca, 'mtls-injector', 'mtls-injector-ca', NOW);
}

/** The webhook's serving-certificate Secret, issued by `ca` for `dnsNames`. */
export function servingSecret(
  ca: CertificateAuthority,
  dnsNames = ['mtls-injector-webhook.mtls-injector.svc'],
  options: { now?: Date; lifetimeSeconds?: number } = {},
): SecretObject {
  const leaf = issueLeaf(ca, {
    dnsNames,
    keyAlgorithm: 'ecdsa-p256',
    lifetimeSeconds: options.lifetimeSeconds ?? DAY,
    backdateSeconds: 60,
    now: options.now ?? NOW,
  });
  return {
    metadata: { name: 'mtls-injector-webhook-tls', namespace: 'mtls-injector' },
    type: 'kubernetes.io/tls',
    data: encodeFiles({ 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem, 'ca.crt': ca.trustBundlePem }),
  };
}

/** Our MutatingWebhookConfiguration, every entry trusting `caPem`, calling the Service (or a URL). */
export function webhookConfiguration(caPem: string, url?: string): WebhookConfigurationObject {
  return {
    name: 'mtls-injector',
    webhooks: WEBHOOK_ENTRIES.map((e) => ({
      name: e.name,
      caBundle: Buffer.from(caPem).toString('base64'),
      ...(url === undefined
        ? { service: { namespace: 'mtls-injector', name: 'mtls-injector-webhook', path: e.path } }
        : { url: `${url}${e.path}` }),
      failurePolicy: 'Fail',
    })),
  };
}

/** A plain pod as the API server stores it before injection. */
export function plainPod(
  name: string,
  options: {
    namespace?: string;
    serviceAccount?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  } = {},
): PodObject {
  return {
    metadata: {
      name,
      namespace: options.namespace ?? 'shop',
      uid: `uid-${name}`,
      labels: { app: 'web', ...(options.labels ?? {}) },
      annotations: options.annotations ?? {},
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-sts', controller: true },
      ],
    },
    spec: {
      serviceAccountName: options.serviceAccount ?? 'web',
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
    },
    status: { phase: 'Pending' },
  };
}

/** The pod as the webhook left it: decide() on the plain pod, the patch applied. */
export function injectedPod(
  name: string,
  options: Parameters<typeof plainPod>[1] = {},
  injectedWith: InjectionSettings = settings,
): PodObject {
  const pod = plainPod(name, options);
  const decision = decide({
    pod,
    namespace: pod.metadata.namespace ?? '',
    mode: 'enabled',
    operation: 'CREATE',
    excludedNamespaces: excluded,
    settings: injectedWith,
    secretSuffix: 'bcdfgbcdfg',
  });
  if (decision.kind !== 'inject') throw new Error(`expected inject, got ${decision.kind} ${decision.reason}`);
  return decision.pod as unknown as PodObject;
}

/** The pod's Secret as the rotator writes it, issued by `ca` (identity, lifetime and owner overridable). */
export function workloadSecret(
  ca: CertificateAuthority,
  pod: PodObject,
  options: {
    serviceAccount?: string;
    now?: Date;
    lifetimeSeconds?: number;
    bundlePem?: string;
    ownerUid?: string;
  } = {},
): SecretObject {
  const namespace = pod.metadata.namespace ?? '';
  const serviceAccount = options.serviceAccount ?? String(pod.spec?.serviceAccountName ?? '');
  const leaf = issueWorkloadIdentity(
    ca,
    { trustDomain: 'cluster.local', namespace, serviceAccount },
    {
      keyAlgorithm: 'ecdsa-p256',
      lifetimeSeconds: options.lifetimeSeconds ?? DAY,
      backdateSeconds: 60,
      now: options.now ?? NOW,
    },
  );
  const secretName =
    pod.metadata.annotations?.['mtls-injector.io/secret'] ?? `${pod.metadata.name ?? ''}-mtls`;
  return buildWorkloadSecret(
    secretName,
    { namespace, name: pod.metadata.name ?? '', uid: options.ownerUid ?? pod.metadata.uid ?? '' },
    leaf.identity.spiffeId,
    { certPem: leaf.certPem, keyPem: leaf.keyPem },
    options.bundlePem ?? ca.trustBundlePem,
  );
}

export const checkOptions: CheckOptions = {
  installNamespace: 'mtls-injector',
  webhookConfigurationName: 'mtls-injector',
  webhookTlsSecretName: 'mtls-injector-webhook-tls',
  caSecretName: 'mtls-injector-ca',
  trustBundleConfigMap: 'mtls-injector-trust-bundle',
  caMinValidDays: 60,
  settings,
  excludedNamespaces: excluded,
};
