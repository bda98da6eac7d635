/**
 * Guards for untrusted JSON text: a nesting cap checked BEFORE parsing (a 100k-deep array must not reach a
 * recursive parser, validator or clone — Istio CVE-2022-24726 class) and a prototype-pollution check after it.
 */

/**
 * Deepest nesting accepted. A pod the API server sends is at most ~20 levels deep inside its AdmissionReview
 * (affinity → nodeAffinity → … → values), and the API server drops unknown fields before admission.
 */
export const MAX_JSON_DEPTH = 128;

export type GuardedJson =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      readonly problem: 'empty' | 'too_deep' | 'not_json' | 'forbidden_key';
      readonly message: string;
    };

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when `text` nests objects/arrays deeper than `maxDepth`. Iterative; brackets inside strings do not
 * count. Nesting can never be deeper than the number of opening brackets, so a body with at most `maxDepth` of
 * them (every ordinary pod) is cleared by counting them with indexOf; only longer bodies get the exact scan,
 * which skips strings with indexOf too (most of a pod's bytes are inside strings). Malformed text is left for
 * JSON.parse to refuse.
 */
export function jsonNestingExceeds(text: string, maxDepth: number): boolean {
  if (!hasMoreOpeningBrackets(text, maxDepth)) return false;
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return false;
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** True when `text` has more than `limit` opening brackets, inside strings or not. */
function hasMoreOpeningBrackets(text: string, limit: number): boolean {
  let count = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++count > limit) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++count > limit) return true;
  return false;
}

/** True when the quote at `index` is escaped: preceded by an odd number of backslashes. */
function isEscaped(text: string, index: number): boolean {
  let backslashes = 0;
  for (let i = index - 1; i >= 0 && text.charCodeAt(i) === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 1;
}

/** A JSON string literal that decodes to `word`, each character written plainly or as a \uXXXX escape. */
function escapedKeyPattern(word: string): string {
  let out = '"';
  for (const ch of word) {
    const hex = ch.charCodeAt(0).toString(16).padStart(4, '0');
    const hexPattern = [...hex].map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d)).join('');
    out += `(?:${ch}|\\\\u${hexPattern})`;
  }
  return `${out}"\\s*:`;
}

/** Cheap pre-filters on the text: only when one matches is the parsed value walked. */
const SUSPECT_PROTO = new RegExp(escapedKeyPattern('__proto__'));
const SUSPECT_CONSTRUCTOR = new RegExp(escapedKeyPattern('constructor'));

/**
 * True when a parsed value has a `__proto__` key, or a `constructor` key whose value has a `prototype` key
 * (the secure-json-parse rule: a label called "constructor" is fine, `constructor.prototype` is not).
 */
export function hasPollutingKeys(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
      continue;
    }
    const record = node as Record<string, unknown>;
    if (Object.prototype.hasOwnProperty.call(record, '__proto__')) return true;
    const ctor = Object.prototype.hasOwnProperty.call(record, 'constructor')
      ? record['constructor']
      : undefined;
    if (
      ctor !== null &&
      typeof ctor === 'object' &&
      Object.prototype.hasOwnProperty.call(ctor, 'prototype')
    ) {
      return true;
    }
    for (const key in record) stack.push(record[key]);
  }
  return false;
}

/** Either word anywhere, as a key or not: one regex pass is cheaper than two includes() on a pod's text. */
const EITHER_WORD = /__proto__|constructor/;

/** Cheap test on the text; only when it is true is the parsed value walked. */
function mayHavePollutingKeys(text: string): boolean {
  // Without any \u escape the keys can only appear literally.
  if (!text.includes('\\u')) return EITHER_WORD.test(text);
  return SUSPECT_PROTO.test(text) || SUSPECT_CONSTRUCTOR.test(text);
}

/** Parses untrusted JSON text: empty, too deep, invalid or polluting input is refused with a reason. */
export function parseGuardedJson(text: string, maxDepth: number = MAX_JSON_DEPTH): GuardedJson {
  if (text.trim() === '') return { ok: false, problem: 'empty', message: 'body is empty; expected JSON' };
  if (jsonNestingExceeds(text, maxDepth)) {
    return {
      ok: false,
      problem: 'too_deep',
      message: `JSON nests deeper than ${maxDepth} levels; expected an AdmissionReview`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 quotes a slice of the input in its message; keep only the position so no body text is echoed.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    const where = position === undefined ? '' : ` at position ${position}`;
    return { ok: false, problem: 'not_json', message: `body is not valid JSON${where}` };
  }
  if (mayHavePollutingKeys(text) && hasPollutingKeys(value)) {
    return {
      ok: false,
      problem: 'forbidden_key',
      message: 'body has a "__proto__" or "constructor.prototype" key; refused',
    };
  }
  return { ok: true, value };
}
