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

/** 256 bodies of at most 32 KiB: a few MB at most, and far more pod templates than a rollout wave has. */
export const DEFAULT_REVIEW_MEMO: ReviewMemoOptions = { maxEntries: 256, maxBodyChars: 32 * 1024 };

/** The schema's bounds on `request.uid`. */
const MAX_UID = 256;
/** Distinct texts before the uid (one per AdmissionReview version and client encoding) that are looked for. */
const MAX_PREFIXES = 4;

/** One remembered body: the text around its uid, and its template once it has been seen twice. */
interface Entry {
  readonly prefix: string;
  readonly rest: string;
  /** undefined: seen once; null: its answer cannot be templated. */
  template: AnswerTemplate | null | undefined;
}

/** What a body's text matched. */
export type Recall =
  | { readonly kind: 'hit'; readonly uid: string; readonly template: AnswerTemplate }
  | { readonly kind: 'miss' };

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
  /** Entries by the length of the text after the uid. */
  private byLength = new Map<number, Entry[]>();
  private entries = 0;
  private settings: InjectionSettings | undefined;

  constructor(private readonly options: ReviewMemoOptions = DEFAULT_REVIEW_MEMO) {}

  /** The template for `text` when it is a remembered body with another uid. */
  recall(text: string, settings: InjectionSettings): Recall {
    if (settings !== this.settings || text.length > this.options.maxBodyChars) return MISS;
    const found = this.find(text);
    return found?.entry.template == null
      ? MISS
      : { kind: 'hit', uid: found.uid, template: found.entry.template };
  }

  /**
   * Notes a body answered the long way: remembered when first seen, given a template (by `outcomeFor`, the
   * real decision) when seen again.
   */
  observe(text: string, review: AdmissionReview, settings: InjectionSettings, outcomeFor: OutcomeFor): void {
    if (text.length > this.options.maxBodyChars) return;
    if (settings !== this.settings) {
      this.clear();
      this.settings = settings;
    }
    const found = this.find(text);
    if (found !== undefined) {
      if (found.entry.template === undefined)
        found.entry.template = templateFor(found.entry, review, outcomeFor);
      return;
    }
    const split = splitAtUid(text, review.request.uid);
    if (split === undefined) return;
    if (!this.prefixes.includes(split.prefix)) {
      if (this.prefixes.length >= MAX_PREFIXES) return;
      this.prefixes.push(split.prefix);
    }
    if (this.entries >= this.options.maxEntries) this.clear();
    const bucket = this.byLength.get(split.rest.length);
    const entry: Entry = { ...split, template: undefined };
    if (bucket === undefined) this.byLength.set(split.rest.length, [entry]);
    else bucket.push(entry);
    this.entries++;
  }

  /** How many bodies are remembered. */
  get size(): number {
    return this.entries;
  }

  private clear(): void {
    this.byLength = new Map();
    this.prefixes = [];
    this.entries = 0;
  }

  private find(text: string): { readonly uid: string; readonly entry: Entry } | undefined {
    for (const prefix of this.prefixes) {
      if (!text.startsWith(prefix)) continue;
      const end = text.indexOf('"', prefix.length);
      if (end < 0) return undefined;
      const uid = text.slice(prefix.length, end);
      if (!isPlainUid(uid)) return undefined;
      const bucket = this.byLength.get(text.length - end);
      if (bucket === undefined) return undefined;
      const rest = text.slice(end);
      for (const entry of bucket) if (entry.prefix === prefix && entry.rest === rest) return { uid, entry };
      return undefined;
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
function splitAtUid(text: string, uid: string): { prefix: string; rest: string } | undefined {
  if (!isPlainUid(uid)) return undefined;
  const needle = `"uid":"${uid}"`;
  const at = text.indexOf(needle);
  if (at < 0 || text.indexOf(needle, at + 1) >= 0) return undefined;
  const start = at + 7;
  return { prefix: text.slice(0, start), rest: text.slice(start + uid.length) };
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
