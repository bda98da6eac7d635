import jsonpatch from 'fast-json-patch';

/** One RFC 6902 operation, as the API server applies it. */
export interface PatchOperation {
  readonly op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  readonly path: string;
  readonly value?: unknown;
  readonly from?: string;
}

/** Lists of named items in a pod where injection may insert before existing items. */
const NAMED_LISTS: readonly (readonly string[])[] = [
  ['spec', 'initContainers'],
  ['spec', 'containers'],
  ['spec', 'volumes'],
];

/**
 * The JSONPatch that turns `original` into `mutated`, by diff (never by template): pointers are escaped for
 * us (`mtls-injector.io~1status`), and missing maps and arrays are created by whole-value `add`s rather than
 * `/-` appends on paths that do not exist (C6).
 *
 * One refinement: an index-wise diff of a list where an item was inserted in front (mtls-init goes first)
 * rewrites every later item field by field. When the item names at some index differ, the ops under that list
 * are replaced by one `replace` of the whole list: same result, and a patch a human can review.
 */
export function buildPatch(original: object, mutated: object): PatchOperation[] {
  let ops = jsonpatch.compare(original, mutated) as PatchOperation[];
  for (const path of NAMED_LISTS) {
    const before = valueAt(original, path);
    const after = valueAt(mutated, path);
    if (!Array.isArray(before) || !Array.isArray(after) || !namesShifted(before, after)) continue;
    const pointer = `/${path.join('/')}`;
    const first = ops.findIndex((op) => op.path.startsWith(`${pointer}/`));
    if (first < 0) continue;
    const rest = ops.filter((op) => !op.path.startsWith(`${pointer}/`));
    rest.splice(first, 0, { op: 'replace', path: pointer, value: after });
    ops = rest;
  }
  return ops;
}

function valueAt(root: object, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function nameOf(item: unknown): unknown {
  return item !== null && typeof item === 'object' ? (item as { name?: unknown }).name : undefined;
}

function namesShifted(before: readonly unknown[], after: readonly unknown[]): boolean {
  const shared = Math.min(before.length, after.length);
  for (let i = 0; i < shared; i++) if (nameOf(before[i]) !== nameOf(after[i])) return true;
  return false;
}
