import { INJECT_ANNOTATION } from '../names.js';
import type { PatchOperation } from './patch.js';

/** The prefix of every label and annotation mtls-injector writes on pods. */
export const OWN_KEY_PREFIX = 'mtls-injector.io/';

/**
 * The JSONPatch that removes every `mtls-injector.io/*` label and annotation from a pod the webhook does not
 * inject, except the opt-out annotation (its author's own choice). Such keys on a pod that was not injected
 * were written by its author: they claim an identity the webhook never gave, and nothing downstream should
 * see them. Empty when there is nothing to remove (the usual case), or when the metadata is not readable.
 */
export function stripOwnKeys(pod: unknown): PatchOperation[] {
  const meta = isMap(pod) ? pod['metadata'] : undefined;
  if (!isMap(meta)) return [];
  const ops: PatchOperation[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    const map = meta[field];
    if (!isMap(map)) continue;
    for (const key of Object.keys(map)) {
      if (!key.startsWith(OWN_KEY_PREFIX) || key === INJECT_ANNOTATION) continue;
      ops.push({ op: 'remove', path: `/metadata/${field}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` });
    }
  }
  return ops;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
