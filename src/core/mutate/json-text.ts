import type { PatchOperation } from './patch.js';

/**
 * JSON text of the values injection puts into every patch (the mount, the env entries, mtls-init), written
 * once per process instead of once per review. A template is deep-frozen, so sharing it between pods and
 * patches is safe: any attempt to change one throws instead of leaking into the next review.
 */
const TEXT = new WeakMap<object, string>();

/** Deep-freezes `value` and remembers its JSON text; returns the same (now frozen) value. */
export function template<T extends object>(value: T): T {
  deepFreeze(value);
  TEXT.set(value, JSON.stringify(value));
  return value;
}

function deepFreeze(value: object): void {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  }
  Object.freeze(value);
}

/** Characters JSON.stringify writes escaped: quote, backslash, controls and (unpaired) surrogates. */
// eslint-disable-next-line no-control-regex -- the control characters are exactly what is looked for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Appends the JSON text of `value`. A string that needs no escape (nearly all: pointers, names) goes in as
 * three pieces, quotes apart, rather than as a new quoted copy of itself.
 */
function pushJson(parts: string[], value: unknown): void {
  if (typeof value === 'string') {
    if (NEEDS_ESCAPE.test(value)) parts.push(JSON.stringify(value));
    else parts.push('"', value, '"');
    return;
  }
  if (typeof value !== 'object' || value === null) {
    parts.push(JSON.stringify(value) ?? 'null');
    return;
  }
  const known = TEXT.get(value);
  if (known !== undefined) {
    parts.push(known);
  } else if (!Array.isArray(value)) {
    parts.push(JSON.stringify(value));
  } else {
    parts.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) parts.push(',');
      pushJson(parts, value[i]);
    }
    parts.push(']');
  }
}

/** What opens an operation, up to its path, by op name: [first in the list, after a comma]. */
const OPENING: Readonly<Record<PatchOperation['op'], readonly [string, string]>> = {
  add: ['{"op":"add","path":', ',{"op":"add","path":'],
  remove: ['{"op":"remove","path":', ',{"op":"remove","path":'],
  replace: ['{"op":"replace","path":', ',{"op":"replace","path":'],
  move: ['{"op":"move","path":', ',{"op":"move","path":'],
  copy: ['{"op":"copy","path":', ',{"op":"copy","path":'],
  test: ['{"op":"test","path":', ',{"op":"test","path":'],
};

/**
 * `JSON.stringify(ops)`, byte for byte (a test holds the two equal), for the operations `buildPatch` makes:
 * keys in the order op, path, from, value, and templates written from their remembered text. The pieces are
 * collected in one list and joined once into a flat string: concatenating them, even two at a time as a
 * template literal does, made short-lived copies and a tree of partial strings that every later reader (the
 * UTF-8 encoder first) had to flatten again.
 */
export function patchJson(ops: readonly PatchOperation[]): string {
  const parts: string[] = ['['];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as PatchOperation;
    parts.push(OPENING[op.op][i === 0 ? 0 : 1]);
    pushJson(parts, op.path);
    if (op.from !== undefined) {
      parts.push(',"from":');
      pushJson(parts, op.from);
    }
    if (op.value !== undefined) {
      parts.push(',"value":');
      pushJson(parts, op.value);
    }
    parts.push('}');
  }
  parts.push(']');
  return parts.join('');
}
