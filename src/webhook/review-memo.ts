import { parseGuardedJson } from '../core/json-guard.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import type { AdmissionReview } from '../core/review.js';
import { AnswerTemplate, type OutcomeFor } from './answer-template.js';

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
/** Every how many characters the fingerprint reads one. */
const FINGERPRINT_STRIDE = 8;
/** Bodies kept under one fingerprint at most (the oldest goes): a lookup compares at most this many texts. */
const MAX_PER_FINGERPRINT = 4;

/** One remembered body: the text around its uid, and its template once it has been seen twice. */
interface Entry {
  readonly prefix: string;
  readonly rest: string;
  /** undefined: seen once; null: its answer cannot be templated. */
  template: AnswerTemplate | null | undefined;
}

/** Where a body's uid is and what follows it, as found by `recall` (and reused by `observe`). */
interface Probe {
  readonly prefix: string;
  readonly uid: string;
  /** Index of the quote after the uid. */
  readonly end: number;
  readonly key: number;
  readonly entry: Entry | undefined;
}

/** What a body's text matched. */
export type Recall =
  | { readonly kind: 'hit'; readonly uid: string; readonly template: AnswerTemplate }
  | { readonly kind: 'miss'; readonly probe?: Probe };

const MISS: Recall = { kind: 'miss' };

/**
 * Remembers the answers of review bodies that come again with only `request.uid` changed: a rollout's pods
 * reach the webhook as one pod template, byte for byte, under a fresh uid each. A body seen a second time
 * gets an answer template (answer-template.ts); from the third on, its answer is rendered from that with the
 * request's uid and a freshly drawn Secret-name suffix, with no parse, check or decision.
 *
 * That is sound because the body is the same text except for the characters of one JSON string, the one
 * that was `request.uid` (checked once per body by parsing it with another uid), and those characters are
 * plain (no quote, backslash or control character, at most 256 of them): the same text but for them parses,
 * passes the guard and the schema and decides exactly as the remembered body did. A body is remembered only
 * when its uid occurs once in it, written plainly; the settings it was decided with must be the current
 * ones (the memo is emptied when they change). One memo per endpoint: the path gives the mode and delivery.
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
    return template == null ? { kind: 'miss', probe } : { kind: 'hit', uid: probe.uid, template };
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
      probe.entry.template = templateFor(probe.entry, review, outcomeFor);
      return probe.entry.template !== null;
    }
    // A new body. Where its uid is: after a prefix seen before, or (the first of its kind) where the uid occurs.
    const split =
      probe !== undefined && probe.uid === review.request.uid
        ? { prefix: probe.prefix, rest: text.slice(probe.end), key: probe.key }
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
    const entry: Entry = { prefix: split.prefix, rest: split.rest, template: undefined };
    const bucket = byFingerprint.get(split.key);
    if (bucket === undefined) {
      byFingerprint.set(split.key, [entry]);
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
      const key = fingerprint(text, end);
      const bucket = this.byPrefix.get(prefix)?.get(key);
      let entry: Entry | undefined;
      if (bucket !== undefined) {
        const rest = text.slice(end);
        entry = bucket.find((e) => e.rest === rest);
      }
      return { prefix, uid, end, key, entry };
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

/** FNV-1a over the length and every FINGERPRINT_STRIDE-th character of `text` from `from` on. */
function fingerprint(text: string, from: number): number {
  let hash = Math.imul(0x811c9dc5 ^ (text.length - from), 0x01000193);
  for (let i = from; i < text.length; i += FINGERPRINT_STRIDE)
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}

/** The text before and after the uid's characters, when `"uid":"<uid>"` occurs exactly once. */
function splitAtUid(text: string, uid: string): { prefix: string; rest: string; key: number } | undefined {
  if (!isPlainUid(uid)) return undefined;
  const needle = `"uid":"${uid}"`;
  const at = text.indexOf(needle);
  if (at < 0 || text.indexOf(needle, at + 1) >= 0) return undefined;
  const start = at + 7;
  return {
    prefix: text.slice(0, start),
    rest: text.slice(start + uid.length),
    key: fingerprint(text, start + uid.length),
  };
}

/**
 * The entry's template, once its uid is proven to be `request.uid`: the body with another uid there must
 * parse (through the guard) to a review with that uid. Null when it is not, or when the answer cannot be
 * templated.
 */
function templateFor(entry: Entry, review: AdmissionReview, outcomeFor: OutcomeFor): AnswerTemplate | null {
  const probeUid = `${review.request.uid}-memo-probe`;
  if (probeUid.length > MAX_UID) return null;
  const parsed = parseGuardedJson(entry.prefix + probeUid + entry.rest);
  if (!parsed.ok) return null;
  const request = (parsed.value as { request?: { uid?: unknown } } | null)?.request;
  if (request?.uid !== probeUid) return null;
  return AnswerTemplate.build(review, outcomeFor) ?? null;
}
