import { MOUNT_PATH, VOLUME_NAME } from '../names.js';
import type { RawContainer, RawVolumeMount } from '../pod.js';
import { template } from './json-text.js';

/** Normalises a mount path the way the kernel resolves it: `/var/run//mtls/` → `/var/run/mtls`. */
export function normalizeMountPath(path: string): string {
  // Fast path for the common case: a path that is already clean is returned as is.
  if (path.startsWith('/') && !path.includes('//') && !path.includes('/.') && !path.endsWith('/'))
    return path;
  const parts: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') parts.pop();
    else parts.push(segment);
  }
  return `/${parts.join('/')}`;
}

/** True when a mount is exactly ours: our volume at our path, whole (no subPath). */
export function isOurMount(mount: RawVolumeMount): boolean {
  return (
    mount.name === VOLUME_NAME &&
    normalizeMountPath(mount.mountPath) === MOUNT_PATH &&
    (mount.subPath == null || mount.subPath === '') &&
    (mount.subPathExpr == null || mount.subPathExpr === '')
  );
}

/** The mount every container gets: one frozen object shared by all pods (see json-text.ts). */
const OUR_MOUNT: RawVolumeMount = template({ name: VOLUME_NAME, mountPath: MOUNT_PATH, readOnly: true });

/** Mounts our volume read-only at MOUNT_PATH in `container` (changed in place), replacing what sits there. */
export function ensureMount(container: RawContainer): void {
  container.volumeMounts ??= [];
  const index = container.volumeMounts.findIndex((m) => normalizeMountPath(m.mountPath) === MOUNT_PATH);
  const existing = container.volumeMounts[index];
  if (existing !== undefined) {
    container.volumeMounts[index] = { ...existing, mountPath: MOUNT_PATH, readOnly: true };
  } else {
    container.volumeMounts.push(OUR_MOUNT);
  }
}
