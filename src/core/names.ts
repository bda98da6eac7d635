/**
 * The public contract of names, labels, annotations and paths (DESIGN.md "Objects and names").
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
export const VOLUME_NAME = 'mtls-certs';
export const MOUNT_PATH = '/var/run/mtls';
export const INIT_CONTAINER_NAME = 'mtls-init';
export const CA_SECRET_NAME = 'mtls-injector-ca';
export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';
export const CA_FILE = 'ca.crt';
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
