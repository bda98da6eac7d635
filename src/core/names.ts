/**
 * The public contract of names, labels, annotations and paths (docs/design.md, "Objects and names").
 * Changing any value here is a breaking change.
 */
export const OPT_IN_LABEL = 'mtls-injection';
export const OPT_IN_ENABLED = 'enabled';
export const OPT_IN_STRICT = 'strict';
export const INJECT_ANNOTATION = 'mtls-injector.io/inject';
export const MANAGED_LABEL = 'mtls-injector.io/managed';
export const POD_LABEL = 'mtls-injector.io/pod';
export const STATUS_ANNOTATION = 'mtls-injector.io/status';
export const SECRET_ANNOTATION = 'mtls-injector.io/secret';
export const SPIFFE_ID_ANNOTATION = 'mtls-injector.io/spiffe-id';
/**
 * On workload Secrets: the seal of tls.crt and tls.key (src/pki/seal.ts), an HMAC only the CA's holder can
 * make; a Secret whose seal verifies needs no signature check or key derivation when it is judged.
 */
export const SEAL_ANNOTATION = 'mtls-injector.io/seal';
export const VOLUME_NAME = 'mtls-certs';
export const MOUNT_PATH = '/var/run/mtls';
export const INIT_CONTAINER_NAME = 'mtls-init';
/**
 * The static mtls-init binary (cmd/mtls-init) in the mtls-init image (the default `init.image`) and in the
 * product image, and the `command` of mtls-init in Linux pods. An `init.image` of one's own must hold it at
 * this path (docs/configuration.md).
 */
export const INIT_BINARY_PATH = '/app/bin/mtls-init';
/** The argument that runs `mtls-injector init` (the Node command), mtls-init's `args` in Windows pods. */
export const INIT_NODE_ARGS = ['init'] as const;
export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';
export const CA_FILE = 'ca.crt';
/** The CRLs of the issuing CAs (PEM, one `X509 CRL` block per CA), beside ca.crt. */
export const CRL_FILE = 'ca.crl';
export const ENV_CERT_FILE = 'MTLS_CERT_FILE';
export const ENV_KEY_FILE = 'MTLS_KEY_FILE';
export const ENV_CA_FILE = 'MTLS_CA_FILE';
export const ENV_SPIFFE_ID = 'MTLS_SPIFFE_ID';
/** Namespaces that never call the webhook, whatever their labels. The install namespace is added at runtime. */
export const ALWAYS_EXCLUDED_NAMESPACES = ['kube-system', 'kube-node-lease'] as const;
/** Env the webhook gives mtls-init (downward API) so it can check the identity against the pod's own. */
export const ENV_POD_NAMESPACE = 'MTLS_POD_NAMESPACE';
export const ENV_POD_SERVICE_ACCOUNT = 'MTLS_POD_SERVICE_ACCOUNT';
export const ENV_POD_NAME = 'MTLS_POD_NAME';
/** Env the webhook gives mtls-init as plain values: the trust domain and how long to wait for the files. */
export const ENV_INIT_TRUST_DOMAIN = 'MTLS_INJECTOR_TRUST_DOMAIN';
export const ENV_INIT_WAIT_TIMEOUT = 'MTLS_INJECTOR_INIT_WAIT_TIMEOUT';
/** Suffix of every workload Secret name: `<pod name>-mtls`. */
export const SECRET_NAME_SUFFIX = '-mtls';
/** The alphabet and length of the random part Kubernetes appends to `generateName` (no vowels, no 0/1/3). */
export const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export const GENERATE_NAME_SUFFIX_LENGTH = 5;
/**
 * Length of the random part of the Secret name the webhook gives a pod that has only `generateName` (drawn
 * from GENERATE_NAME_ALPHABET, independently of the pod's own generated name): 27^10 ≈ 2·10^14 names, so two
 * of 1,000 live pods share a Secret with a chance of about 2.5·10^-9 (with 5 characters it was about 3 %).
 */
export const SECRET_NAME_RANDOM_LENGTH = 10;
/** Version of the JSON in the status annotation; bumped only with a migration path for older pods. */
export const STATUS_VERSION = 1;
/** Annotation the kubelet puts on mirror pods of static pods; they cannot mount Secrets. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
/** The webhook's two endpoints: the path tells it the namespace's mode. */
export const MUTATE_PATH = '/mutate';
export const MUTATE_STRICT_PATH = '/mutate/strict';
/**
 * The revocation record: a ConfigMap in the install namespace listing every revoked certificate that has not
 * expired yet, the source of truth for CRLs (docs/revocation.md; docs/adr/0006-revocation-record.md).
 */
export const REVOCATIONS_CONFIGMAP = 'mtls-injector-revocations';
/** The key of the revocation record's ConfigMap that holds the entries (JSON). */
export const REVOCATIONS_KEY = 'revocations.json';

/** The ConfigMap in the install namespace where the rotator publishes `ca.crl` for clients outside the product. */
export const CRL_CONFIGMAP = 'mtls-injector-crl';
