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
 * The diff is fast-json-patch's `compare()` algorithm, op for op (a property test holds the two equal), minus
 * its deep copy of every added value: that JSON round trip cost as much as parsing the whole review, and the
 * values here are only serialised. The operations therefore share values with `mutated`; treat both as
 * read-only.
 *
 * One refinement: an index-wise diff of a list where an item was inserted in front (mtls-init goes first)
 * rewrites every later item field by field. When the item names at some index differ, the ops under that list
 * are replaced by one `replace` of the whole list: same result, and a patch a human can review.
 */
export function buildPatch(original: object, mutated: object): PatchOperation[] {
  let ops = jsonDiff(original, mutated);
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

type Json = Record<string, unknown> | unknown[];

const hasOwn = (value: object, key: string | number): boolean =>
  Object.prototype.hasOwnProperty.call(value, key);

function isContainer(value: unknown): value is Json {
  return typeof value === 'object' && value !== null;
}

function child(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}/${key}` : `${path}/${jsonpatch.escapePathComponent(key)}`;
}

/**
 * fast-json-patch's `compare(before, after)` without deep-copying the values it puts into the operations:
 * the same walk (its `_generate` in duplex.js), the same operations in the same order.
 */
export function jsonDiff(before: object, after: object): PatchOperation[] {
  const ops: PatchOperation[] = [];
  diff(before as Json, after as Json, ops, '');
  return ops;
}

// Lists are walked by index (no key arrays), and pointers are only built for values that differ: with
// copy-on-write input most values are shared, so most keys are skipped by one identity check.
function diff(before: Json, after: Json, ops: PatchOperation[], path: string): void {
  if (before === after) return;
  const beforeIsArray = Array.isArray(before);
  const afterIsArray = Array.isArray(after);
  if (beforeIsArray && afterIsArray) {
    diffLists(before, after, ops, path);
    return;
  }
  const oldKeys = beforeIsArray ? undefined : Object.keys(before);
  if (oldKeys !== undefined && !afterIsArray) {
    const newKeys = Object.keys(after);
    if (startsWithKeys(newKeys, oldKeys)) {
      diffCopy(before as Record<string, unknown>, after, oldKeys, newKeys, ops, path);
      return;
    }
  }
  const oldLength = oldKeys === undefined ? (before as unknown[]).length : oldKeys.length;
  let deleted = false;
  for (let t = oldLength - 1; t >= 0; t--) {
    const key: string | number = oldKeys === undefined ? t : (oldKeys[t] as string);
    const oldValue = (before as Record<string | number, unknown>)[key];
    const newValue = (after as Record<string | number, unknown>)[key];
    if (oldValue === newValue && oldValue !== undefined && hasOwn(after, key)) continue;
    if (hasOwn(after, key) && !(newValue === undefined && oldValue !== undefined && !afterIsArray)) {
      diffValue(oldValue, newValue, ops, path, key);
    } else if (beforeIsArray === afterIsArray) {
      ops.push({ op: 'remove', path: child(path, key) });
      deleted = true;
    } else {
      ops.push({ op: 'replace', path, value: after });
    }
  }
  const newLength = afterIsArray ? after.length : Object.keys(after).length;
  if (!deleted && newLength === oldLength) return;
  if (afterIsArray) {
    for (let i = 0; i < after.length; i++) {
      if (!hasOwn(before, i) && after[i] !== undefined)
        ops.push({ op: 'add', path: child(path, i), value: after[i] });
    }
    return;
  }
  for (const key of Object.keys(after)) {
    const value = after[key];
    if (!hasOwn(before, key) && value !== undefined) ops.push({ op: 'add', path: child(path, key), value });
  }
}

/**
 * One own key or index present on both sides, whose values are not the same: two containers of one kind are
 * walked, anything else is replaced (compare() deep-copies through JSON, which turns undefined into null).
 */
function diffValue(
  oldValue: unknown,
  newValue: unknown,
  ops: PatchOperation[],
  path: string,
  key: string | number,
): void {
  if (isContainer(oldValue) && isContainer(newValue) && Array.isArray(oldValue) === Array.isArray(newValue)) {
    diff(oldValue, newValue, ops, child(path, key));
  } else if (oldValue !== newValue) {
    ops.push({ op: 'replace', path: child(path, key), value: newValue === undefined ? null : newValue });
  }
}

/** True when `keys` begins with exactly `prefix`, in order. */
function startsWithKeys(keys: readonly string[], prefix: readonly string[]): boolean {
  if (keys.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (keys[i] !== prefix[i]) return false;
  return true;
}

/**
 * `diff` of two objects where `after` has every key of `before`, in the same order, and perhaps more after
 * them: what a copy made by spreading `before` and then setting keys looks like. The values are then read
 * as two lists (Object.values) and compared by position, instead of by two lookups of every key in objects
 * of many shapes. Same operations, same order as the general walk.
 */
function diffCopy(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  oldKeys: readonly string[],
  newKeys: readonly string[],
  ops: PatchOperation[],
  path: string,
): void {
  const oldValues = Object.values(before);
  const newValues = Object.values(after);
  let deleted = false;
  for (let t = oldKeys.length - 1; t >= 0; t--) {
    const oldValue = oldValues[t];
    const newValue = newValues[t];
    if (oldValue === newValue && oldValue !== undefined) continue;
    const key = oldKeys[t] as string;
    if (newValue === undefined && oldValue !== undefined) {
      ops.push({ op: 'remove', path: child(path, key) });
      deleted = true;
    } else {
      diffValue(oldValue, newValue, ops, path, key);
    }
  }
  if (!deleted && newKeys.length === oldKeys.length) return;
  for (let i = oldKeys.length; i < newKeys.length; i++) {
    const value = newValues[i];
    if (value !== undefined) ops.push({ op: 'add', path: child(path, newKeys[i] as string), value });
  }
}

/**
 * `diff` of two lists. JSON lists have no holes, so an index below the length is an own element and the
 * general walk's ownership checks reduce to comparing against the lengths.
 */
function diffLists(before: unknown[], after: unknown[], ops: PatchOperation[], path: string): void {
  let deleted = false;
  for (let t = before.length - 1; t >= 0; t--) {
    const oldValue = before[t];
    if (t >= after.length) {
      ops.push({ op: 'remove', path: child(path, t) });
      deleted = true;
      continue;
    }
    const newValue = after[t];
    if (oldValue === newValue && oldValue !== undefined) continue;
    diffValue(oldValue, newValue, ops, path, t);
  }
  if (!deleted && after.length === before.length) return;
  for (let i = before.length; i < after.length; i++) {
    if (after[i] !== undefined) ops.push({ op: 'add', path: child(path, i), value: after[i] });
  }
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
