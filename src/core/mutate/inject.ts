import type { WorkloadIdentity } from '../identity.js';
import {
  CA_FILE,
  CERT_FILE,
  ENV_CA_FILE,
  ENV_CERT_FILE,
  ENV_KEY_FILE,
  ENV_SPIFFE_ID,
  INIT_CONTAINER_NAME,
  KEY_FILE,
  MANAGED_LABEL,
  MOUNT_PATH,
  SECRET_ANNOTATION,
  SPIFFE_ID_ANNOTATION,
  STATUS_ANNOTATION,
  VOLUME_NAME,
} from '../names.js';
import type { RawContainer, RawEnvVar, RawMetadata, RawPod } from '../pod.js';
import { ensureInitContainer, initContainerTemplate } from './init-container.js';
import { template } from './json-text.js';
import { ensureMount } from './mounts.js';
import { encodeStatus } from './status.js';
import { certificateVolume, type VolumePlan } from './volume.js';

/** Everything decided about a pod before it is mutated. */
export interface InjectionPlan {
  readonly identity: WorkloadIdentity;
  /** The volume carrying the files: the pod's Secret, or a podCertificate projection. */
  readonly volume: VolumePlan;
  /**
   * Whether to add mtls-init (init.enabled). Without it the pod gets only the volume, mounts and env: the
   * kubelet still starts no container before the volume is mounted, but nothing checks the files first. An
   * mtls-init an earlier pass added is kept as it is.
   */
  readonly withInit: boolean;
  readonly initImage: string;
  readonly initImagePullPolicy: 'IfNotPresent' | 'Always' | 'Never';
  readonly initWaitTimeoutSeconds: number;
  /** `spec.os.name: windows`: the init container gets a Windows securityContext (Linux fields are invalid). */
  readonly windows: boolean;
  /**
   * The SPIFFE ID an earlier injection recorded (`mtls-injector.io/spiffe-id` of a pod with a valid status),
   * if any: an `MTLS_SPIFFE_ID` env with exactly that value was ours and is updated when the identity
   * changed (a manifest copied from another namespace); a value the user chose is never touched.
   */
  readonly previousSpiffeId?: string;
}

/**
 * Returns `original` with everything injection adds, without touching `original` (shared cached objects are
 * never mutated, G16). Copy-on-write: only the objects on the way to a change are copied, and the result
 * shares every untouched subtree with the input. That keeps a 4 KB pod's clone and diff to a few
 * microseconds (fast-json-patch skips identical references); treat the result as read-only.
 * "Ensure" semantics: present parts are brought to the wanted state, missing parts are added, foreign
 * fields are kept. Running it on its own output changes nothing. Conflicts (a foreign volume, mount or init
 * container with our names) must have been ruled out by the caller.
 */
export function injectPod(original: RawPod, plan: InjectionPlan): RawPod {
  // Every copy here is made key by key, not spread: see copyWith.
  const spec = plainCopy(original.spec);
  const pod = plainCopy(original);
  pod.spec = spec;
  const fsGroup = spec.securityContext?.fsGroup;

  const volume = certificateVolume(plan.volume, fsGroup != null);
  spec.volumes = [...(spec.volumes ?? [])];
  const volumeIndex = spec.volumes.findIndex((v) => v.name === VOLUME_NAME);
  if (volumeIndex >= 0) spec.volumes[volumeIndex] = volume;
  else spec.volumes.push(volume);

  const inits = (spec.initContainers ?? []).map(copyContainer);
  const initIndex = inits.findIndex((c) => c.name === INIT_CONTAINER_NAME);
  const existingInit = initIndex >= 0 ? inits.splice(initIndex, 1)[0] : undefined;
  const appInitContainers = inits;
  let init: RawContainer | undefined;
  if (plan.withInit)
    init = existingInit === undefined ? initContainerTemplate(plan) : ensureInitContainer(existingInit, plan);
  else init = existingInit;
  // Without mtls-init, a pod that had no initContainers list keeps none (an empty list would be a change).
  if (init !== undefined) spec.initContainers = [init, ...appInitContainers];
  else if (original.spec.initContainers != null) spec.initContainers = appInitContainers;
  spec.containers = spec.containers.map(copyContainer);

  const env = appEnv(plan.identity.spiffeId);
  for (const container of [...appInitContainers, ...spec.containers]) {
    ensureMount(container);
    ensureAppEnv(container, env, plan.previousSpiffeId);
  }

  const meta: RawMetadata = original.metadata == null ? {} : plainCopy(original.metadata);
  pod.metadata = meta;
  meta.labels = copyWith(meta.labels, [MANAGED_LABEL, 'true']);
  const containers = spec.containers.map((c) => c.name);
  const initContainers = appInitContainers.map((c) => c.name);
  const withInit = init !== undefined;
  meta.annotations =
    plan.volume.kind === 'secret'
      ? copyWith(
          meta.annotations,
          [
            STATUS_ANNOTATION,
            encodeStatus({ secret: plan.volume.secretName, withInit, containers, initContainers }),
          ],
          [SECRET_ANNOTATION, plan.volume.secretName],
          [SPIFFE_ID_ANNOTATION, plan.identity.spiffeId],
        )
      : copyWith(
          meta.annotations,
          [
            STATUS_ANNOTATION,
            encodeStatus({ delivery: 'podCertificate', withInit, containers, initContainers }),
          ],
          [SPIFFE_ID_ANNOTATION, plan.identity.spiffeId],
        );
  return pod;
}

/** A shallow copy built key by key from an empty object, in the source's key order (see copyWith). */
function plainCopy<T extends object>(source: T): T {
  const copy = {} as Record<string, unknown>;
  for (const key in source) copy[key] = source[key];
  return copy as T;
}

/**
 * A copy of `source` (null or absent: an empty map) with `entries` set, in the key order a spread would give.
 * Built key by key from an empty object: adding keys to a spread copy of an object JSON.parse made cost
 * several times more, cold (the copy shares the parsed object's hidden class, and each new key reshaped it).
 */
function copyWith(
  source: Readonly<Record<string, string>> | null | undefined,
  ...entries: readonly (readonly [string, string])[]
): Record<string, string> {
  const copy: Record<string, string> = {};
  if (source != null) for (const key in source) copy[key] = source[key] as string;
  for (const [key, value] of entries) copy[key] = value;
  return copy;
}

/** A container copy whose env and mount lists can be changed without touching the original. */
function copyContainer(container: RawContainer): RawContainer {
  // A spread copy is the cheapest when no key will be added to it; otherwise copy key by key (see copyWith).
  const copy: RawContainer =
    container.env != null && container.volumeMounts != null ? { ...container } : plainCopy(container);
  if (container.env != null) copy.env = [...container.env];
  if (container.volumeMounts != null) copy.volumeMounts = [...container.volumeMounts];
  return copy;
}

/** The file env entries, the same for every pod (frozen, shared). */
const FILE_ENV: readonly RawEnvVar[] = [
  template({ name: ENV_CERT_FILE, value: `${MOUNT_PATH}/${CERT_FILE}` }),
  template({ name: ENV_KEY_FILE, value: `${MOUNT_PATH}/${KEY_FILE}` }),
  template({ name: ENV_CA_FILE, value: `${MOUNT_PATH}/${CA_FILE}` }),
];

/** `MTLS_SPIFFE_ID` entries by identity, as templates; bounded, since every namespace and account has one. */
const spiffeEnvs = new Map<string, RawEnvVar>();
const MAX_SPIFFE_ENVS = 4096;

/** The env every app container gets, unless it already sets the name itself. */
export function appEnv(spiffeId: string): RawEnvVar[] {
  let spiffeEnv = spiffeEnvs.get(spiffeId);
  if (spiffeEnv === undefined) {
    if (spiffeEnvs.size >= MAX_SPIFFE_ENVS) spiffeEnvs.clear();
    spiffeEnv = template({ name: ENV_SPIFFE_ID, value: spiffeId });
    spiffeEnvs.set(spiffeId, spiffeEnv);
  }
  return [...FILE_ENV, spiffeEnv];
}

function ensureAppEnv(
  container: RawContainer,
  wanted: readonly RawEnvVar[],
  previousSpiffeId: string | undefined,
): void {
  const env = (container.env ??= []);
  for (const variable of wanted) {
    const index = env.findIndex((e) => e.name === variable.name);
    if (index < 0) {
      env.push(variable);
    } else if (
      variable.name === ENV_SPIFFE_ID &&
      previousSpiffeId !== undefined &&
      previousSpiffeId !== variable['value'] &&
      env[index]?.['value'] === previousSpiffeId
    ) {
      env[index] = variable;
    }
  }
}
