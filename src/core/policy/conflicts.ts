import { isOurMount, normalizeMountPath } from '../mutate/mounts.js';
import type { InjectionStatus } from '../mutate/status.js';
import { isOurVolume, type VolumePlan } from '../mutate/volume.js';
import {
  INIT_BINARY_PATH,
  INIT_CONTAINER_NAME,
  INIT_NODE_ARGS,
  INJECT_ANNOTATION,
  MOUNT_PATH,
  VOLUME_NAME,
} from '../names.js';
import type { RawContainer, RawPod } from '../pod.js';
import type { DenyReason } from '../reasons.js';

/** A clash between the pod and the names injection uses (C4, C5, C8): always denied, naming the clash. */
export interface Conflict {
  readonly reason: Extract<DenyReason, 'volume_conflict' | 'mount_path_conflict' | 'init_container_conflict'>;
  readonly message: string;
}

/**
 * The first clash in the pod, or undefined. "Ours" is judged from the structure, with the status annotation
 * only as a hint (C14): an mtls-init is ours when the pod carries our status and it runs our init (the
 * binary as its only `command`, or the Node image's `init` as its only argument: Windows pods, and pods
 * injected by releases before the binary); a volume
 * mtls-certs is ours when it is a Secret volume for this pod's Secret or a projection naming our signer (or
 * the status claims it).
 */
export function findConflict(
  pod: RawPod,
  status: InjectionStatus | undefined,
  volumePlan: VolumePlan,
  permissive: boolean,
): Conflict | undefined {
  const spec = pod.spec;
  const escape = permissive
    ? `, or opt the pod out with annotation ${INJECT_ANNOTATION}: "false"`
    : ' (this namespace requires injection)';

  if (spec.containers.some((c) => c.name === INIT_CONTAINER_NAME)) {
    return {
      reason: 'init_container_conflict',
      message: `container ${JSON.stringify(INIT_CONTAINER_NAME)} clashes with the init container mtls-injector adds; rename it${escape}`,
    };
  }
  const inits = spec.initContainers ?? [];
  const namedInit = inits.filter((c) => c.name === INIT_CONTAINER_NAME);
  const initIsOurs = namedInit.length === 1 && status !== undefined && runsOurInit(namedInit[0]);
  if (namedInit.length > 0 && !initIsOurs) {
    return {
      reason: 'init_container_conflict',
      message: `init container ${JSON.stringify(INIT_CONTAINER_NAME)} is not the one mtls-injector manages; rename it${escape}`,
    };
  }

  const namedVolumes = (spec.volumes ?? []).filter((v) => v.name === VOLUME_NAME);
  const volume = namedVolumes[0];
  const volumeIsOurs =
    namedVolumes.length === 1 &&
    volume !== undefined &&
    isOurVolume(volume, volumePlan, status !== undefined);
  if (namedVolumes.length > 0 && !volumeIsOurs) {
    const what = volumePlan.kind === 'secret' ? 'Secret volume' : 'podCertificate volume';
    return {
      reason: 'volume_conflict',
      message: `volume ${JSON.stringify(VOLUME_NAME)} already exists and is not the ${what} mtls-injector manages; rename it${escape}`,
    };
  }

  for (const container of [...inits, ...spec.containers]) {
    if (container.name === INIT_CONTAINER_NAME) continue;
    for (const mount of container.volumeMounts ?? []) {
      const path = normalizeMountPath(mount.mountPath);
      if (path !== MOUNT_PATH && !path.startsWith(`${MOUNT_PATH}/`)) continue;
      if (isOurMount(mount)) continue;
      return {
        reason: 'mount_path_conflict',
        message: `container ${JSON.stringify(container.name)} mounts volume ${JSON.stringify(mount.name)} at ${JSON.stringify(mount.mountPath)}, where mtls-injector mounts the certificates (${MOUNT_PATH}); move that mount${escape}`,
      };
    }
  }
  return undefined;
}

/** Whether an init container runs mtls-init: the static binary alone, or the Node image with `init` alone. */
function runsOurInit(container: RawContainer | undefined): boolean {
  if (container === undefined) return false;
  const command = container.command ?? [];
  const args = container.args ?? [];
  const binary = command.length === 1 && command[0] === INIT_BINARY_PATH && args.length === 0;
  const node = command.length === 0 && args.length === 1 && args[0] === INIT_NODE_ARGS[0];
  return binary || node;
}
