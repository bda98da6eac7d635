import { parseGuardedJson } from '../core/json-guard.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import { type AdmissionReview, parseAdmissionReview } from '../core/review.js';
import { AnswerTemplate, type OutcomeFor } from './answer-template.js';
import {
  fill,
  otherTime,
  otherToken,
  sameButSlots,
  segments,
  type Slotted,
  slotted,
  TIME_CHARS,
  TOKEN_CHARS,
} from './pod-slots.js';
import { slotsInPlace } from './slot-places.js';

/** How much the memo holds. */
export interface ReviewMemoOptions {
  /** Bodies remembered at most (seen once, or with a template); the memo is emptied when it is full. */
  readonly maxEntries: number;
  /** Longer bodies are never remembered. */
  readonly maxBodyChars: number;
}

/** 256 bodies of at most 32 K characters: a few MB at most, and more pod templates than a rollout wave has. */
export const DEFAULT_REVIEW_MEMO: ReviewMemoOptions = { maxEntries: 256, maxBodyChars: 32 * 1024 };

/** The schema's bounds on `request.uid`. */
const MAX_UID = 256;
/** Distinct texts before the uid (one per AdmissionReview version and client encoding) that are looked for. */
const MAX_PREFIXES = 4;
/** Bodies kept under one fingerprint at most (the oldest goes): a lookup compares at most this many texts. */
const MAX_PER_FINGERPRINT = 4;

/**
 * One remembered body: the text before its uid, the text after it with the per-pod slots (pod-slots.ts) set
 * aside, and its template once it has been seen twice.
 */
interface Entry {
  readonly prefix: string;
  readonly rest: Slotted;
  /** The text after the uid between its slots (pod-slots.ts `segments`). */
  readonly pieces: readonly string[];
  /** undefined: seen once; null: its answer cannot be templated. */
  template: AnswerTemplate | null | undefined;
}

/** Where a body's uid is and what follows it, as found by `recall` (and reused by `observe`). */
interface Probe {
  readonly prefix: string;
  readonly uid: string;
  /** Index of the quote after the uid. */
  readonly end: number;
  /** The text from that quote on, its slots set aside. */
  readonly rest: Slotted;
  readonly entry: Entry | undefined;
}

/** What a body's text matched. */
export type Recall =
  | {
      readonly kind: 'hit';
      readonly uid: string;
      /** The 5 characters of the body's token volume name ('' when it has none), for `render`. */
      readonly token: string;
      readonly template: AnswerTemplate;
    }
  | { readonly kind: 'miss'; readonly probe?: Probe };

const MISS: Recall = { kind: 'miss' };

/**
 * Remembers the answers of review bodies that come again with only their per-pod strings changed: a
 * rollout's pods reach the webhook as one pod template under a fresh `request.uid` each, with the token
 * volume name and managedFields time the API server gave each pod (pod-slots.ts). A body seen a second time
 * gets an answer template (answer-template.ts); from the third on, its answer is rendered from that with the
 * request's uid, its token volume name and a freshly drawn Secret-name suffix, with no parse, check or
 * decision.
 *
 * That is sound because the body is the same text except for the characters of JSON strings that are plain
 * (no quote, backslash or control character) and bounded: the uid (1–256 characters) and the fixed-form
 * slots. Such a text parses, passes the guard and the schema and decides exactly as the remembered body did,
 * provided those strings are what they look like, which is checked once per body by parsing it with other
 * values in them (templateFor), and provided the answer depends on them only where the template leaves holes
 * (checked by answer-template.ts against the real path). A body is remembered only when its uid occurs once
 * in it, written plainly; the settings it was decided with must be the current ones (the memo is emptied
 * when they change). One memo per endpoint: the path gives the mode and delivery.
 */
export class ReviewMemo {
  private prefixes: string[] = [];
  /**
   * Entries by the text before the uid, then by a fingerprint of the text after it. Not by that text itself:
   * V8 hashes a long string one character at a time, which cost about as much as parsing the body.
   */
  private byPrefix = new Map<string, Map<number, Entry[]>>();
  private entries = 0;
  private settings: InjectionSettings | undefined;

  constructor(private readonly options: ReviewMemoOptions = DEFAULT_REVIEW_MEMO) {}

  /** The template for `text` when it is a remembered body with another uid. */
  recall(text: string, settings: InjectionSettings): Recall {
    if (settings !== this.settings || text.length > this.options.maxBodyChars) return MISS;
    const probe = this.probe(text);
    if (probe === undefined) return MISS;
    const template = probe.entry?.template;
    if (template == null) return { kind: 'miss', probe };
    const at = probe.rest.tokens[0];
    const token = at === undefined ? '' : text.slice(probe.end + at, probe.end + at + TOKEN_CHARS);
    return { kind: 'hit', uid: probe.uid, token, template };
  }

  /**
   * Notes a body answered the long way: remembered when first seen, given a template (by `outcomeFor`, the
   * real decision) when seen again. `recalled` is what `recall` said about the same text, if it was asked.
   * Returns whether this body's answer became a template (it was seen before and could be templated).
   */
  observe(
    text: string,
    recalled: Recall | undefined,
    review: AdmissionReview,
    settings: InjectionSettings,
    outcomeFor: OutcomeFor,
  ): boolean {
    if (text.length > this.options.maxBodyChars) return false;
    let probe = recalled?.kind === 'miss' ? recalled.probe : undefined;
    if (settings !== this.settings) {
      this.clear();
      this.settings = settings;
      probe = undefined;
    }
    probe ??= this.probe(text);
    if (probe?.entry !== undefined) {
      if (probe.entry.template !== undefined) return false;
      probe.entry.template = templateFor(probe.entry, text, probe.end, review, outcomeFor);
      return probe.entry.template !== null;
    }
    // A new body. Where its uid is: after a prefix seen before, or (the first of its kind) where the uid occurs.
    const split =
      probe !== undefined && probe.uid === review.request.uid
        ? { prefix: probe.prefix, from: probe.end, rest: probe.rest }
        : splitAtUid(text, review.request.uid);
    if (split === undefined) return false;
    if (this.entries >= this.options.maxEntries) this.clear();
    if (!this.prefixes.includes(split.prefix)) {
      if (this.prefixes.length >= MAX_PREFIXES) return false;
      this.prefixes.push(split.prefix);
    }
    let byFingerprint = this.byPrefix.get(split.prefix);
    if (byFingerprint === undefined)
      this.byPrefix.set(split.prefix, (byFingerprint = new Map<number, Entry[]>()));
    const entry: Entry = {
      prefix: split.prefix,
      rest: split.rest,
      pieces: segments(text, split.from, split.rest),
      template: undefined,
    };
    const key = split.rest.key;
    const bucket = byFingerprint.get(key);
    if (bucket === undefined) {
      byFingerprint.set(key, [entry]);
    } else {
      if (bucket.length >= MAX_PER_FINGERPRINT) {
        bucket.shift();
        this.entries--;
      }
      bucket.push(entry);
    }
    this.entries++;
    return false;
  }

  /** How many bodies are remembered. */
  get size(): number {
    return this.entries;
  }

  private clear(): void {
    this.byPrefix = new Map();
    this.prefixes = [];
    this.entries = 0;
  }

  /** Where `text`'s uid is, after a known prefix, and the entry of its body if there is one. */
  private probe(text: string): Probe | undefined {
    for (const prefix of this.prefixes) {
      if (!text.startsWith(prefix)) continue;
      const end = text.indexOf('"', prefix.length);
      if (end < 0) return undefined;
      const uid = text.slice(prefix.length, end);
      if (!isPlainUid(uid)) return undefined;
      const rest = slotted(text, end);
      if (rest === undefined) return undefined;
      const bucket = this.byPrefix.get(prefix)?.get(rest.key);
      const entry = bucket?.find((e) => sameButSlots(text, end, rest, e.rest, e.pieces));
      return { prefix, uid, end, rest, entry };
    }
    return undefined;
  }
}

/**
 * A uid whose JSON text is its characters between quotes, in a body and in an answer alike: 1 to 256
 * characters (the schema's bounds), none of them a quote, a backslash, a control character or half of a
 * surrogate pair (JSON.stringify escapes those).
 */
function isPlainUid(uid: string): boolean {
  if (uid.length === 0 || uid.length > MAX_UID) return false;
  for (let i = 0; i < uid.length; i++) {
    const c = uid.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** The text before and after the uid's characters, when `"uid":"<uid>"` occurs exactly once. */
function splitAtUid(text: string, uid: string): { prefix: string; from: number; rest: Slotted } | undefined {
  if (!isPlainUid(uid)) return undefined;
  const needle = `"uid":"${uid}"`;
  const at = text.indexOf(needle);
  if (at < 0 || text.indexOf(needle, at + 1) >= 0) return undefined;
  const start = at + 7;
  const rest = slotted(text, start + uid.length);
  if (rest === undefined) return undefined;
  return { prefix: text.slice(0, start), from: start + uid.length, rest };
}

/**
 * The entry's template, once its per-pod strings are proven to be what they look like. The body (`text`, this
 * sighting; its uid ends at `end`) is parsed twice more, through the guard and the schema: with its uid and
 * other per-pod strings, and with another uid and per-pod strings again, each token name and time differing
 * from the others in every character. In both the uid must be `request.uid`, the token name must stand only
 * as volume and volume-mount names and the times only as managedFields times (pod-slots.ts); the template is
 * made from the first two and checked byte for byte against the real answer to the third
 * (answer-template.ts). Null when any of that fails.
 */
function templateFor(
  entry: Entry,
  text: string,
  end: number,
  review: AdmissionReview,
  outcomeFor: OutcomeFor,
): AnswerTemplate | null {
  const probeUid = `${review.request.uid}-memo-probe`;
  if (probeUid.length > MAX_UID) return null;
  const { tokens, times } = entry.rest;
  const at = tokens[0];
  const firstToken = at === undefined ? '' : text.slice(end + at, end + at + TOKEN_CHARS);
  const firstTimes = times.map((t) => text.slice(end + t, end + t + TIME_CHARS));
  const secondToken = firstToken === '' ? '' : otherToken(firstToken);
  const secondTimes = firstTimes.map(otherTime);
  const checkToken = secondToken === '' ? '' : otherToken(secondToken);
  const checkTimes = secondTimes.map(otherTime);
  const second = variant(entry, review.request.uid, secondToken, secondTimes);
  const check = variant(entry, probeUid, checkToken, checkTimes);
  if (second === undefined || check === undefined) return null;
  return (
    AnswerTemplate.build(review, outcomeFor, { firstToken, second, secondToken, check, checkToken }) ?? null
  );
}

/**
 * The entry's body with `uid`, token name characters `token` and managedFields times `times`, parsed through
 * the guard and the schema, when its uid is `request.uid` and the per-pod strings stand exactly where they
 * should (slot-places.ts `slotsInPlace`); undefined otherwise.
 */
function variant(
  entry: Entry,
  uid: string,
  token: string,
  times: readonly string[],
): AdmissionReview | undefined {
  const { tokens } = entry.rest;
  const text = entry.prefix + uid + fill(entry.pieces, entry.rest, token, (i) => times[i] as string);
  const parsed = parseGuardedJson(text);
  if (!parsed.ok) return undefined;
  const request = (parsed.value as { request?: { uid?: unknown } } | null)?.request;
  if (request?.uid !== uid) return undefined;
  const places = slotsInPlace(
    parsed.value,
    `kube-api-access-${token}`,
    tokens.length,
    new Set(times),
    times.length,
  );
  if (!places) return undefined;
  const review = parseAdmissionReview(parsed.value);
  return review.ok ? review.review : undefined;
}
