/**
 * The per-pod strings the API server writes into pods of one template before the webhooks see them, found in
 * the text of an AdmissionReview without parsing it (review-memo.ts sets them aside like the uid):
 *
 * - the service-account token volume's name, `kube-api-access-<5 characters of [a-z0-9]>`, which the
 *   ServiceAccount admission plugin draws per pod and writes in `spec.volumes` and in every container's
 *   `volumeMounts`;
 * - `metadata.managedFields[].time`, the request's time to the second (`YYYY-MM-DDTHH:MM:SSZ`).
 *
 * A slot is the characters of one JSON string written plainly: between its quotes, after `"kube-api-access-`
 * or after `"time":"`, of a fixed length and alphabet without quote or backslash. Where they are in the
 * parsed review, and that the answer does not depend on them, is checked when a template is made
 * (review-memo.ts, answer-template.ts; docs/adr/0008-admission-memo.md has the argument).
 */

/** What a token volume's name begins with (its text has a quote before it). */
const TOKEN_NAME_PREFIX = 'kube-api-access-';
/** Random characters in the token volume's name (Kubernetes' generateName draws 5). */
export const TOKEN_CHARS = 5;
/** The name as a whole: what no other string of a templated body may look like. */
export const TOKEN_NAME = /^kube-api-access-[a-z0-9]{5}$/;
const TIME_OPEN = '"time":"';
const MANAGED_FIELDS = '"managedFields":[';
const SPEC = '"spec":{';
/** `2026-12-06T10:11:12Z`: RFC 3339 to the second in UTC, as Kubernetes writes metav1.Time. */
export const TIME_CHARS = 20;
/** Slots of either kind in one body at most; a body with more is not remembered. */
const MAX_SLOTS = 64;

/** Where the slots are in the text after the uid (offsets from where it starts, in text order). */
export interface Slotted {
  /** Length of the text after the uid. */
  readonly length: number;
  /** Offsets of the token name's 5 characters, one per occurrence. */
  readonly tokens: readonly number[];
  /** Offsets of each managedFields time's 20 characters. */
  readonly times: readonly number[];
  /** Every slot as offset then length (flat: `[offset0, length0, offset1, …]`), in text order. */
  readonly slots: readonly number[];
  /**
   * FNV-1a over the length and every FINGERPRINT_STRIDE-th character of the text after the uid, a slot's
   * characters counted as 0: equal for texts that differ only in their slots.
   */
  readonly key: number;
}

/** Every how many characters the fingerprint reads one. */
const FINGERPRINT_STRIDE = 8;
const NO_SLOTS: readonly number[] = [];

/**
 * Where the slots are in `text` from `from` on, or undefined when the token name is written with different
 * characters in different places (then it is not one pod's token volume) or there are too many slots. Reads
 * the text, allocates nothing per character: this runs for every review.
 */
export function slotted(text: string, from: number): Slotted | undefined {
  const tokens: number[] = [];
  let first = -1;
  // Found by the name without its quote (indexOf skips ahead on its rarer first letter; JSON text has a
  // quote every few characters), then the quote checked.
  for (
    let at = text.indexOf(TOKEN_NAME_PREFIX, from);
    at >= 0;
    at = text.indexOf(TOKEN_NAME_PREFIX, at + 1)
  ) {
    const start = at + TOKEN_NAME_PREFIX.length;
    if (at === from || text.charCodeAt(at - 1) !== 0x22 || !isTokenAt(text, start)) continue;
    if (first < 0) first = start;
    else if (!sameChars(text, first, start, TOKEN_CHARS)) return undefined;
    tokens.push(start - from);
  }
  const times: number[] = [];
  // Looked for from the first managedFields on, up to the pod's spec (the API server writes metadata first and
  // managedFields last in it): a shorter search. Where the scan looks changes only which bodies can hit; a hit
  // needs its slots in the same places as the remembered body's and the same text around them.
  const fields = text.indexOf(MANAGED_FIELDS, from);
  if (fields >= 0) {
    const spec = text.indexOf(SPEC, fields);
    // A view of that stretch, so that the last search stops at its end instead of running to the body's.
    const region = spec < 0 ? text.slice(fields) : text.slice(fields, spec);
    for (let at = region.indexOf(TIME_OPEN); at >= 0; at = region.indexOf(TIME_OPEN, at + 1)) {
      const start = fields + at + TIME_OPEN.length;
      if (isTimeAt(text, start)) times.push(start - from);
    }
  }
  if (tokens.length + times.length > MAX_SLOTS) return undefined;
  let slots = NO_SLOTS;
  if (tokens.length + times.length > 0) {
    const merged: number[] = [];
    let i = 0;
    let j = 0;
    while (i < tokens.length || j < times.length) {
      const t = i < tokens.length ? (tokens[i] as number) : Infinity;
      const m = j < times.length ? (times[j] as number) : Infinity;
      if (t < m) {
        merged.push(t, TOKEN_CHARS);
        i++;
      } else {
        merged.push(m, TIME_CHARS);
        j++;
      }
    }
    slots = merged;
  }
  return { length: text.length - from, tokens, times, slots, key: fingerprint(text, from, slots) };
}

function fingerprint(text: string, from: number, slots: readonly number[]): number {
  const length = text.length - from;
  let hash = Math.imul(0x811c9dc5 ^ length, 0x01000193);
  let s = 0;
  let slotStart = slots.length > 0 ? (slots[0] as number) : length;
  let slotEnd = slots.length > 0 ? slotStart + (slots[1] as number) : length;
  for (let i = 0; i < length; i += FINGERPRINT_STRIDE) {
    while (i >= slotEnd) {
      s += 2;
      slotStart = s < slots.length ? (slots[s] as number) : length;
      slotEnd = s < slots.length ? slotStart + (slots[s + 1] as number) : length;
    }
    hash = Math.imul(hash ^ (i >= slotStart ? 0 : text.charCodeAt(from + i)), 0x01000193);
  }
  return hash;
}

/** The text from `from` on between its slots: `slots.length + 1` pieces. */
export function segments(text: string, from: number, { slots }: Slotted): string[] {
  const out: string[] = [];
  let last = from;
  for (let i = 0; i < slots.length; i += 2) {
    const offset = slots[i] as number;
    out.push(text.slice(last, from + offset));
    last = from + offset + (slots[i + 1] as number);
  }
  out.push(text.slice(last));
  return out;
}

/**
 * True when `text` from `from` on (slots `mine`) is the remembered text (`theirs`, `pieces` its segments)
 * but for the characters of their slots: the same length, slots in the same places, the same text between.
 */
export function sameButSlots(
  text: string,
  from: number,
  mine: Slotted,
  theirs: Slotted,
  pieces: readonly string[],
): boolean {
  if (mine.length !== theirs.length || mine.key !== theirs.key) return false;
  if (mine.slots.length !== theirs.slots.length) return false;
  let last = from;
  for (let i = 0; i < mine.slots.length; i += 2) {
    const offset = mine.slots[i] as number;
    const length = mine.slots[i + 1] as number;
    if (offset !== theirs.slots[i] || length !== theirs.slots[i + 1]) return false;
    if (!sameAt(text, last, pieces[i / 2] as string)) return false;
    last = from + offset + length;
  }
  return sameAt(text, last, pieces[mine.slots.length / 2] as string);
}

/**
 * True when `text` holds `piece` at `at`. By a slice (a view, not a copy) and `===`, which V8 compares a
 * block at a time; `startsWith(piece, at)` went one character at a time, ~10 µs for a 5 KB body.
 */
function sameAt(text: string, at: number, piece: string): boolean {
  return text.slice(at, at + piece.length) === piece;
}

/** The remembered text (its segments, `slotted` its slots) with `token` in every token slot and `timeAt(i)` in the i-th time slot. */
export function fill(
  pieces: readonly string[],
  { slots }: Slotted,
  token: string,
  timeAt: (i: number) => string,
): string {
  let out = pieces[0] as string;
  let time = 0;
  for (let i = 0; i < slots.length; i += 2) {
    const length = slots[i + 1] as number;
    out += (length === TOKEN_CHARS ? token : timeAt(time++)) + (pieces[i / 2 + 1] as string);
  }
  return out;
}

function sameChars(text: string, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (text.charCodeAt(a + i) !== text.charCodeAt(b + i)) return false;
  return true;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A token name's 5 characters that differ from `value`'s at every position. */
export function otherToken(value: string): string {
  let out = '';
  for (const c of value) out += ALNUM[(ALNUM.indexOf(c) + 1) % ALNUM.length];
  return out;
}

/** A time of the same form whose every digit differs from `value`'s. */
export function otherTime(value: string): string {
  let out = '';
  for (const c of value) out += c >= '0' && c <= '9' ? String((Number(c) + 1) % 10) : c;
  return out;
}

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isTokenAt(text: string, start: number): boolean {
  if (text.charCodeAt(start + TOKEN_CHARS) !== 0x22) return false;
  for (let i = start; i < start + TOKEN_CHARS; i++) if (!isAlnum(text.charCodeAt(i))) return false;
  return true;
}

/** `DDDD-DD-DDTDD:DD:DDZ` then a quote. */
const TIME_FORM = 'dddd-dd-ddTdd:dd:ddZ';
function isTimeAt(text: string, start: number): boolean {
  if (text.charCodeAt(start + TIME_CHARS) !== 0x22) return false;
  for (let i = 0; i < TIME_CHARS; i++) {
    const c = text.charCodeAt(start + i);
    const want = TIME_FORM.charCodeAt(i);
    if (want === 0x64 ? !isDigit(c) : c !== want) return false;
  }
  return true;
}
