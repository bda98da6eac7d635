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

/**
 * `JSON.stringify(value)` for JSON data, reusing the remembered text of templates, also as items of a list
 * (mtls-init at the head of `spec.initContainers`).
 */
export function jsonText(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  const known = TEXT.get(value);
  if (known !== undefined) return known;
  if (!Array.isArray(value)) return JSON.stringify(value);
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (i > 0) out += ',';
    out +=
      typeof item === 'object' && item !== null
        ? (TEXT.get(item) ?? JSON.stringify(item))
        : (JSON.stringify(item) ?? 'null');
  }
  return `${out}]`;
}

/**
 * `JSON.stringify(ops)`, byte for byte (a test holds the two equal), for the operations `buildPatch` makes:
 * keys in the order op, path, from, value, and templates written from their remembered text.
 */
export function patchJson(ops: readonly PatchOperation[]): string {
  let out = '[';
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as PatchOperation;
    if (i > 0) out += ',';
    out += `{"op":${JSON.stringify(op.op)},"path":${JSON.stringify(op.path)}`;
    if (op.from !== undefined) out += `,"from":${JSON.stringify(op.from)}`;
    if (op.value !== undefined) out += `,"value":${jsonText(op.value)}`;
    out += '}';
  }
  return `${out}]`;
}
