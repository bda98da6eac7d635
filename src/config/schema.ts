/**
 * The one configuration schema: every setting with its type, default and description. The loader layers
 * defaults < file < environment < flags over it and validates the result; the Config type is derived from
 * it, and `docs/configuration.md` is generated from it.
 *
 * Over 300 lines: FIELDS is one table of every setting, about eight lines each; split, the type, the loader
 * and the docs would each have to gather the pieces again.
 */
import { DELIVERY_SETTINGS } from '../core/delivery-modes.js';
import { KEY_ALGORITHMS } from '../core/key-algorithm.js';
import { SIGNED_KEY_TYPES } from '../core/pod-certificate.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a field's text (from env or flags) and file value are read. */
export type FieldKind =
  | { readonly type: 'string'; readonly pattern?: RegExp; readonly hint?: string }
  | { readonly type: 'integer'; readonly min: number; readonly max: number }
  | { readonly type: 'fraction'; readonly min: number; readonly max: number }
  | { readonly type: 'duration'; readonly minSeconds: number; readonly maxSeconds: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'enum'; readonly values: readonly string[] };

/** One setting. `key` is its dotted path in the config object and the file; env and flag names derive from it. */
export interface FieldSpec {
  readonly key: string;
  readonly kind: FieldKind;
  readonly default: string | number | boolean;
  readonly description: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DAY = 86_400;
/** `<domain>/<path>` as Kubernetes validates signer names; kubernetes.io names are reserved. */
const SIGNER_NAME =
  /^(?!kubernetes\.io\/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Every setting the product has. Durations are in seconds once loaded. */
export const FIELDS = [
  {
    key: 'trustDomain',
    kind: { type: 'string', pattern: /^[a-z0-9._-]+$/, hint: 'lowercase letters, digits, ".", "-", "_"' },
    default: 'cluster.local',
    description:
      'SPIFFE trust domain: identities are spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>.',
  },
  {
    key: 'clusterDomain',
    kind: { type: 'string', pattern: DNS_SUBDOMAIN, hint: 'a DNS subdomain' },
    default: 'cluster.local',
    description: 'Cluster DNS domain used for the <svc>.<ns>.svc.<clusterDomain> DNS SANs.',
  },
  {
    key: 'dnsShortNames',
    kind: { type: 'boolean' },
    default: false,
    description:
      'Also put the short forms <svc> and <svc>.<ns> in workload certificates. Off by default: they can be public names (web.dev), and only the .svc forms are names the cluster DNS alone answers.',
  },
  {
    key: 'installNamespace',
    kind: { type: 'string', pattern: DNS_LABEL, hint: 'a DNS-1123 label' },
    default: 'mtls-injector',
    description: 'Namespace the product runs in; never injected; holds the CA Secret and the lease.',
  },
  {
    key: 'keyAlgorithm',
    kind: { type: 'enum', values: KEY_ALGORITHMS },
    default: 'ecdsa-p256',
    description: 'Key algorithm for workload (leaf) keys.',
  },
  {
    key: 'leafLifetime',
    kind: { type: 'duration', minSeconds: 60, maxSeconds: 366 * DAY },
    default: '24h',
    description: 'Lifetime of each workload certificate (capped at the CA notAfter).',
  },
  {
    key: 'backdate',
    kind: { type: 'duration', minSeconds: 0, maxSeconds: 3600 },
    default: '60s',
    description: 'How far notBefore is back-dated to tolerate clock skew.',
  },
  {
    key: 'renewAt',
    kind: { type: 'fraction', min: 0.1, max: 0.9 },
    default: 0.5,
    description: 'Fraction of a certificate lifetime after which it is renewed.',
  },
  {
    key: 'renewJitter',
    kind: { type: 'fraction', min: 0, max: 0.3 },
    default: 0.1,
    description: 'Random spread around renewAt (fraction of the lifetime), so renewals do not storm.',
  },
  {
    key: 'delivery.mode',
    kind: { type: 'enum', values: DELIVERY_SETTINGS },
    default: 'auto',
    description:
      'How certificate files reach pods: secret (a Secret per pod), podCertificate (the kubelet keeps the key; the rotator signs PodCertificateRequests), or auto (podCertificate where the API server serves it, as the rotator finds at start). A namespace label mtls-injector.io/delivery overrides it.',
  },
  {
    key: 'delivery.factsConfigMap',
    kind: { type: 'string', pattern: DNS_SUBDOMAIN, hint: 'a DNS-1123 subdomain' },
    default: 'mtls-injector-delivery',
    description:
      'ConfigMap in installNamespace where the rotator publishes what the API server serves (the webhook mounts it) and which pods still hold pod certificates of a previous CA.',
  },
  {
    key: 'podCertificate.signerName',
    kind: {
      type: 'string',
      pattern: SIGNER_NAME,
      hint: 'a signer name <domain>/<path>, not under kubernetes.io',
    },
    default: 'mtls-injector.io/spiffe',
    description:
      'Signer name of the podCertificate projections the webhook adds and the PodCertificateRequests the rotator signs.',
  },
  {
    key: 'podCertificate.keyType',
    kind: { type: 'enum', values: SIGNED_KEY_TYPES },
    default: 'ECDSAP256',
    description: 'Key type the kubelet generates for podCertificate volumes.',
  },
  {
    key: 'podCertificate.maxExpiration',
    kind: { type: 'duration', minSeconds: 3600, maxSeconds: 7_862_400 },
    default: '24h',
    description:
      "Longest lifetime of a pod certificate: the projection asks for it and the signer grants at most it (1h to 91d, the API server's bounds).",
  },
  {
    key: 'podCertificate.backdate',
    kind: { type: 'duration', minSeconds: 0, maxSeconds: 270 },
    default: '60s',
    description:
      "How far a pod certificate's notBefore is back-dated (the API server requires it within 5 minutes of its clock).",
  },
  {
    key: 'podCertificate.refreshAt',
    kind: { type: 'fraction', min: 0.1, max: 0.9 },
    default: 0.5,
    description:
      "Fraction of a pod certificate's lifetime at which the kubelet starts its refresh (beginRefreshAt), ± renewJitter; kept inside the API server's window [notBefore + 10m, notAfter - 10m].",
  },
  {
    key: 'podCertificate.trustBundle',
    kind: { type: 'enum', values: ['auto', 'clusterTrustBundle', 'configMap'] },
    default: 'auto',
    description:
      "Where a podCertificate volume's ca.crt comes from: the signer's ClusterTrustBundle, a ConfigMap the rotator keeps in each namespace, or auto (the ClusterTrustBundle where the API server serves them).",
  },
  {
    key: 'podCertificate.trustBundleConfigMap',
    kind: { type: 'string', pattern: DNS_SUBDOMAIN, hint: 'a DNS-1123 subdomain' },
    default: 'mtls-injector-trust-bundle',
    description:
      'Name of the per-namespace ConfigMap holding ca.crt when the trust bundle comes from a ConfigMap.',
  },
  {
    key: 'ca.keyAlgorithm',
    kind: { type: 'enum', values: KEY_ALGORITHMS },
    default: 'ecdsa-p256',
    description: 'Key algorithm of a generated root CA.',
  },
  {
    key: 'ca.lifetime',
    kind: { type: 'duration', minSeconds: DAY, maxSeconds: 30 * 366 * DAY },
    default: '87600h',
    description: 'Lifetime of a generated root CA (default 10 years).',
  },
  {
    key: 'ca.secretName',
    kind: { type: 'string', pattern: DNS_SUBDOMAIN, hint: 'a DNS-1123 subdomain' },
    default: 'mtls-injector-ca',
    description:
      'Secret in installNamespace holding the issuing CA (generated on first start unless ca.bringYourOwn).',
  },
  {
    key: 'ca.nameConstraints',
    kind: { type: 'boolean' },
    default: false,
    description:
      'Give a generated root CA a critical NameConstraints extension: it may then only certify <x>.svc and <x>.svc.<clusterDomain> DNS names, webhook.extraDnsNames, and URIs of the trust domain, so a leaked key cannot mint a certificate for a public name. Applies to CAs generated from then on (first install, ca rotate prepare); not with dnsShortNames.',
  },
  {
    key: 'ca.trustBundleConfigMap',
    kind: { type: 'string', pattern: DNS_SUBDOMAIN, hint: 'a DNS-1123 subdomain' },
    default: 'mtls-injector-trust-bundle',
    description:
      'ConfigMap in installNamespace the rotator publishes the trust bundle (ca.crt) and issuing CA (issuer.crt) to: the public half of the CA Secret, readable without access to the CA key.',
  },
  {
    key: 'ca.bringYourOwn',
    kind: { type: 'boolean' },
    default: false,
    description:
      'Never generate a CA: load the intermediate (tls.crt with chain, tls.key, ca.crt) from ca.secretName.',
  },
  {
    key: 'ca.propagationDelay',
    kind: { type: 'duration', minSeconds: 0, maxSeconds: DAY },
    default: '5m',
    description:
      "Time the kubelets are given to write a changed Secret into running pods (they do at their next sync of each pod, about a minute by default): a CA rotation's activate and retire wait this long after every managed Secret is ready, and leafLifetime × (1 − renewAt − renewJitter) must be at least this long.",
  },
  {
    key: 'log.level',
    kind: { type: 'enum', values: LOG_LEVELS },
    default: 'info',
    description: 'Log level of the JSON logs.',
  },
  {
    key: 'webhook.port',
    kind: { type: 'integer', min: 1, max: 65_535 },
    default: 10_250,
    description: 'HTTPS port of the admission webhook.',
  },
  {
    key: 'webhook.probePort',
    kind: { type: 'integer', min: 1, max: 65_535 },
    default: 9090,
    description: 'Plain-HTTP port for /healthz, /readyz and /metrics.',
  },
  {
    key: 'webhook.host',
    kind: { type: 'string' },
    default: '0.0.0.0',
    description: 'Address the webhook listens on.',
  },
  {
    key: 'webhook.tlsCert',
    kind: { type: 'string' },
    default: '/etc/mtls-injector/tls/tls.crt',
    description: 'Serving certificate (PEM, with chain); reloaded when the file changes.',
  },
  {
    key: 'webhook.tlsKey',
    kind: { type: 'string' },
    default: '/etc/mtls-injector/tls/tls.key',
    description: 'Serving key (PEM); reloaded when the file changes.',
  },
  {
    key: 'webhook.deliveryFactsFile',
    kind: { type: 'string' },
    default: '/etc/mtls-injector/delivery/delivery.json',
    description:
      'Where the webhook reads what the rotator published about the cluster (delivery.factsConfigMap, mounted); reloaded when it changes. Needed by delivery.mode=auto.',
  },
  {
    key: 'webhook.bodyLimitBytes',
    kind: { type: 'integer', min: 3 * 1024 * 1024, max: 64 * 1024 * 1024 },
    default: 6 * 1024 * 1024,
    description: 'Largest AdmissionReview body accepted (the API server sends pods up to 3 MiB).',
  },
  {
    key: 'webhook.shutdownDelay',
    kind: { type: 'duration', minSeconds: 0, maxSeconds: 60 },
    default: '5s',
    description:
      'On SIGTERM the webhook keeps serving (and ready: its terminating endpoint stays serving, which kube-proxy falls back to when no other endpoint is ready) this long before it stops accepting connections, so the API server is not sent to a closed port (rolling updates; helm uninstall, which deletes the Deployments before the webhook configuration). Keep it below terminationGracePeriodSeconds.',
  },
  {
    key: 'webhook.failOpen',
    kind: { type: 'boolean' },
    default: false,
    description:
      'On /mutate, allow with a warning (instead of deny) what cannot be decided cleanly. /mutate/strict always denies.',
  },
  {
    key: 'webhook.serviceName',
    kind: { type: 'string', pattern: DNS_LABEL, hint: 'a DNS-1123 label' },
    default: 'mtls-injector-webhook',
    description: 'Service in front of the webhook (DNS SANs of its serving certificate).',
  },
  {
    key: 'webhook.extraDnsNames',
    kind: {
      type: 'string',
      pattern: /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?(,[a-z0-9]([-a-z0-9.]*[a-z0-9])?)*)?$/,
      hint: 'comma-separated DNS names',
    },
    default: '',
    description:
      'Extra DNS SANs of the webhook serving certificate (comma-separated), e.g. localhost when the API server calls a URL.',
  },
  {
    key: 'webhook.tlsSecretName',
    kind: { type: 'string', pattern: DNS_SUBDOMAIN, hint: 'a DNS-1123 subdomain' },
    default: 'mtls-injector-webhook-tls',
    description: 'Secret the rotator writes the webhook serving certificate to.',
  },
  {
    key: 'webhook.configurationName',
    kind: { type: 'string', pattern: DNS_SUBDOMAIN, hint: 'a DNS-1123 subdomain' },
    default: 'mtls-injector',
    description: 'Name of our MutatingWebhookConfiguration (the rotator patches only its caBundle).',
  },
  {
    key: 'init.enabled',
    kind: { type: 'boolean' },
    default: true,
    description:
      'Add the mtls-init container to injected pods. false: only the volume, mounts and env are added, so pods start sooner, but nothing checks the files before the app starts (docs/using-mtls.md, "Turning mtls-init off").',
  },
  {
    key: 'init.image',
    kind: { type: 'string' },
    default: 'ghcr.io/mtls-injector/mtls-init:0.1.0',
    description:
      'Image of the mtls-init container of Linux pods: by default the mtls-init image, which holds only the static binary of cmd/mtls-init. The chart sets it to its value init.image when that is set, else to <init.repository>:<image.tag, else appVersion>. It runs /app/bin/mtls-init as its command, so an image of your own (the product image holds it too) must hold that executable, runnable as uid 65532 with no shell.',
  },
  {
    key: 'init.imagePullPolicy',
    kind: { type: 'enum', values: ['IfNotPresent', 'Always', 'Never'] },
    default: 'IfNotPresent',
    description: 'Pull policy of the mtls-init container.',
  },
  {
    key: 'init.windowsImage',
    kind: { type: 'string' },
    default: '',
    description:
      'Image of mtls-init for Windows pods, run with the argument init (the Node command `mtls-injector init`); when empty, Windows pods are skipped with a warning.',
  },
  {
    key: 'init.waitTimeout',
    kind: { type: 'duration', minSeconds: 0, maxSeconds: 3600 },
    default: '120s',
    description: 'How long mtls-init waits for the certificate files before failing.',
  },
  {
    key: 'rotator.probePort',
    kind: { type: 'integer', min: 1, max: 65_535 },
    default: 9091,
    description: 'Plain-HTTP port of the rotator for /healthz, /readyz and /metrics.',
  },
  {
    key: 'rotator.leaseName',
    kind: { type: 'string', pattern: DNS_SUBDOMAIN, hint: 'a DNS-1123 subdomain' },
    default: 'mtls-injector-rotator',
    description: 'Lease used for leader election.',
  },
  {
    key: 'rotator.leaseDuration',
    kind: { type: 'duration', minSeconds: 2, maxSeconds: 600 },
    default: '15s',
    description: 'Leader lease duration; a follower takes over within this time after the leader dies.',
  },
  {
    key: 'rotator.renewDeadline',
    kind: { type: 'duration', minSeconds: 1, maxSeconds: 600 },
    default: '10s',
    description: 'The leader steps down when it cannot renew its lease for this long.',
  },
  {
    key: 'rotator.retryPeriod',
    kind: { type: 'duration', minSeconds: 1, maxSeconds: 60 },
    default: '2s',
    description: 'How often candidates try to acquire or renew the lease.',
  },
  {
    key: 'rotator.writeQps',
    kind: { type: 'fraction', min: 0.1, max: 10_000 },
    default: 50,
    description: 'Steady rate of Secret writes per second (token bucket).',
  },
  {
    key: 'rotator.writeBurst',
    kind: { type: 'integer', min: 1, max: 10_000 },
    default: 100,
    description: 'Burst of Secret writes allowed above writeQps.',
  },
  {
    key: 'rotator.onboardingAuto',
    kind: { type: 'boolean' },
    default: false,
    description: 'Restart not-yet-injected workloads when their namespace opts in.',
  },
] as const satisfies readonly FieldSpec[];

/** The value type a field's kind gives once loaded (durations are seconds). */
type ValueOf<K extends FieldKind> = K extends { readonly type: 'enum'; readonly values: readonly (infer V)[] }
  ? V
  : K extends { readonly type: 'boolean' }
    ? boolean
    : K extends { readonly type: 'string' }
      ? string
      : number;

/** Every field by its dotted key: `{ 'ca.lifetime': number, ... }`. */
type FlatConfig = { readonly [F in (typeof FIELDS)[number] as F['key']]: ValueOf<F['kind']> };

/** The first segment of every dotted key (`ca`, `webhook`, ...). */
type Groups<M> = { [K in keyof M]: K extends `${infer G}.${string}` ? G : never }[keyof M];

/** Dotted keys nested into objects by their dots: `{ ca: { lifetime: number } }`. */
type Nested<M> = {
  readonly [K in keyof M as K extends `${string}.${string}` ? never : K]: M[K];
} & {
  readonly [G in Groups<M> & string]: Nested<{
    [K in keyof M as K extends `${G}.${infer R}` ? R : never]: M[K];
  }>;
};

/** An intersection flattened into one object type, so editors show plain fields. */
type Flat<T> = { readonly [K in keyof T]: T[K] extends string | number | boolean ? T[K] : Flat<T[K]> };

/**
 * The validated, frozen configuration every component receives (durations in seconds). Derived from FIELDS,
 * so a setting exists in the type exactly when it exists in the table.
 */
export type Config = Flat<Nested<FlatConfig>>;

/** `webhook.tlsCert` → `MTLS_INJECTOR_WEBHOOK_TLS_CERT`. */
export function envName(key: string): string {
  return `MTLS_INJECTOR_${key
    .replace(/\./g, '_')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()}`;
}

/** `webhook.tlsCert` → `--webhook-tls-cert`; top-level keys drop no prefix (`--trust-domain`). */
export function flagName(key: string): string {
  return `--${key
    .replace(/\./g, '-')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()}`;
}
