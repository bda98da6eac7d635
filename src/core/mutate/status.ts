import { z } from 'zod';
import { parseGuardedJson } from '../json-guard.js';
import { INIT_CONTAINER_NAME, STATUS_VERSION, VOLUME_NAME } from '../names.js';

/**
 * The `mtls-injector.io/status` annotation: what injection added, so re-injection is idempotent and `check`
 * can tell what is ours. The structure in the pod is trusted over this marker (C14).
 */
export interface InjectionStatus {
  readonly version: typeof STATUS_VERSION;
  /** Present only for podCertificate delivery (absent means secret, as before it existed). */
  readonly delivery?: 'podCertificate';
  /** The Secret the pod mounts (secret delivery); absent with podCertificate delivery. */
  readonly secret?: string;
  readonly volume: typeof VOLUME_NAME;
  /** The init container injection added; absent when it added none (init.enabled=false). */
  readonly initContainer?: typeof INIT_CONTAINER_NAME | undefined;
  /** Names of the containers that got the mount and env. */
  readonly containers: readonly string[];
  /** Names of the pod's own init containers (and native sidecars) that got the mount and env. */
  readonly initContainers: readonly string[];
}

const common = {
  version: z.literal(STATUS_VERSION),
  volume: z.literal(VOLUME_NAME),
  initContainer: z.literal(INIT_CONTAINER_NAME).optional(),
  containers: z.array(z.string()),
  initContainers: z.array(z.string()),
};
const statusShape = z.union([
  z.object({ ...common, secret: z.string() }),
  z.object({ ...common, delivery: z.literal('podCertificate') }),
]);

/**
 * The annotation text, keys in a fixed order so the same injection always gives the same bytes. Secret
 * delivery with mtls-init writes exactly what releases before podCertificate delivery wrote; `initContainer`
 * is left out when injection added none.
 */
export function encodeStatus(
  status: Omit<InjectionStatus, 'version' | 'volume' | 'initContainer'> & { readonly withInit: boolean },
): string {
  return JSON.stringify({
    version: STATUS_VERSION,
    ...(status.delivery === undefined ? { secret: status.secret } : { delivery: status.delivery }),
    volume: VOLUME_NAME,
    ...(status.withInit ? { initContainer: INIT_CONTAINER_NAME } : {}),
    containers: status.containers,
    initContainers: status.initContainers,
  });
}

/** Reads the annotation; undefined when absent, not JSON, or not a version this release understands. */
export function parseStatus(text: string | null | undefined): InjectionStatus | undefined {
  if (text == null || text === '') return undefined;
  // The annotation is user-controlled text inside the already-checked body: guard its nesting too.
  const parsed = parseGuardedJson(text, 4);
  if (!parsed.ok) return undefined;
  const result = statusShape.safeParse(parsed.value);
  return result.success ? result.data : undefined;
}
