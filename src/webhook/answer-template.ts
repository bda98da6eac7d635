import { GENERATE_NAME_ALPHABET, SECRET_NAME_RANDOM_LENGTH } from '../core/names.js';
import type { AdmissionReview } from '../core/review.js';
import type { ReviewOutcome } from './outcome.js';

/** Decides `review` with `suffix` as the random Secret-name part, with the patch text (reviewOutcome). */
export type OutcomeFor = (review: AdmissionReview, suffix: string) => ReviewOutcome;

/**
 * Text with the random Secret-name suffix left out: `pieces[0] + suffix + pieces[1] + suffix + …`. A text
 * the suffix does not reach is one piece.
 */
type Pieces = readonly string[];

/** Three suffixes that differ from each other at every position (so every place a suffix went is found). */
const PROBE_SUFFIXES = [0, 1, 2].map((i) =>
  (GENERATE_NAME_ALPHABET[i] as string).repeat(SECRET_NAME_RANDOM_LENGTH),
);
/** The uid the template is checked with: any other uid must render the same way. */
const PROBE_UID = 'answer-template-check';

/**
 * The answer to one review with the two per-request parts left open: `request.uid`, echoed in the response,
 * and the random suffix of a generateName pod's Secret name, which is in the patch and the log line.
 * Everything else about a review (the decision, the patch, the warnings, what is logged and counted) is a
 * function of the review without its uid and of the settings, so one decision serves every review that
 * differs only in those two (the pods of one rollout).
 *
 * Built by running the real decision twice with different suffixes and taking what differs as the places
 * the suffix goes; then checked once more with a third uid and suffix against the real decision, byte for
 * byte. A review whose answer depends on the suffix in any other way gets no template.
 */
export class AnswerTemplate {
  private constructor(
    private readonly sample: ReviewOutcome,
    /** The response text before and after the uid's JSON text. */
    private readonly head: string,
    /** After the uid: constant text, or text around the base64 patch. */
    private readonly tail: {
      readonly before: string;
      readonly after: string;
      readonly patch: Pieces | undefined;
    },
    private readonly secret: Pieces | undefined,
  ) {}

  /** A template for `review`, or undefined when its answer cannot be rendered from one. */
  static build(review: AdmissionReview, outcomeFor: OutcomeFor): AnswerTemplate | undefined {
    const [s1, s2, s3] = PROBE_SUFFIXES as [string, string, string];
    const first = outcomeFor(review, s1);
    const second = outcomeFor(review, s2);
    if (!sameButSuffixed(first, second)) return undefined;
    const head = responseHead(review, first.body);
    if (head === undefined || !second.body.startsWith(head)) return undefined;
    const tail1 = first.body.slice(head.length + JSON.stringify(review.request.uid).length);
    const tail2 = second.body.slice(head.length + JSON.stringify(review.request.uid).length);
    let tail: AnswerTemplate['tail'];
    if (first.patchText === undefined || second.patchText === undefined) {
      if (tail1 !== tail2 || first.patchText !== second.patchText) return undefined;
      tail = { before: tail1, after: '', patch: undefined };
    } else {
      const b64 = base64(first.patchText);
      const at = tail1.indexOf(b64);
      if (at < 0) return undefined;
      const before = tail1.slice(0, at);
      const after = tail1.slice(at + b64.length);
      if (tail2 !== before + base64(second.patchText) + after) return undefined;
      const patch = suffixPieces(first.patchText, second.patchText, s1, s2);
      if (patch === undefined) return undefined;
      tail = { before, after, patch };
    }
    let secret: Pieces | undefined;
    if (first.secret !== undefined || second.secret !== undefined) {
      if (first.secret === undefined || second.secret === undefined) return undefined;
      secret = suffixPieces(first.secret, second.secret, s1, s2);
      if (secret === undefined) return undefined;
    }
    const template = new AnswerTemplate(first, head, tail, secret);
    // The check: a third uid and suffix, rendered and decided for real, must agree byte for byte.
    const probe = { ...review, request: { ...review.request, uid: PROBE_UID } } as AdmissionReview;
    const expected = outcomeFor(probe, s3);
    const rendered = template.render(PROBE_UID, s3);
    return sameOutcome(expected, rendered) ? template : undefined;
  }

  /** The outcome for a review equal to the template's but for `uid`, with `suffix` drawn for it. */
  render(uid: string, suffix: string): ReviewOutcome {
    const { tail } = this;
    let body: string;
    let patchText: string | undefined;
    if (tail.patch === undefined) {
      patchText = undefined;
      body = this.head + JSON.stringify(uid) + tail.before;
    } else {
      patchText = fill(tail.patch, suffix);
      body = [this.head, JSON.stringify(uid), tail.before, base64(patchText), tail.after].join('');
    }
    return {
      ...this.sample,
      body,
      patchText,
      uid,
      secret: this.secret === undefined ? undefined : fill(this.secret, suffix),
    };
  }
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function fill(pieces: Pieces, suffix: string): string {
  return pieces.length === 1 ? (pieces[0] as string) : pieces.join(suffix);
}

/**
 * The response text up to the uid's JSON text (`encodeAdmissionResponse` and JSON.stringify both begin with
 * apiVersion, kind and the response's uid), or undefined when `body` does not begin so.
 */
function responseHead(review: AdmissionReview, body: string): string | undefined {
  const uid = JSON.stringify(review.request.uid);
  const head = `{"apiVersion":${JSON.stringify(review.apiVersion)},"kind":"AdmissionReview","response":{"uid":`;
  return body.startsWith(head + uid) ? head : undefined;
}

/**
 * `a` split at the places where `b` differs from it, when they differ exactly where `sa` stands in `a` and
 * `sb` in `b` (runs of whole suffixes); undefined otherwise.
 */
function suffixPieces(a: string, b: string, sa: string, sb: string): Pieces | undefined {
  if (a.length !== b.length) return undefined;
  const pieces: string[] = [];
  let start = 0;
  let i = 0;
  while (i < a.length) {
    if (a.charCodeAt(i) === b.charCodeAt(i)) {
      i++;
      continue;
    }
    if (a.slice(i, i + sa.length) !== sa || b.slice(i, i + sb.length) !== sb) return undefined;
    pieces.push(a.slice(start, i));
    i += sa.length;
    start = i;
  }
  pieces.push(a.slice(start));
  return pieces;
}

/** True when two outcomes agree on everything but the body, the patch text and the Secret name. */
function sameButSuffixed(a: ReviewOutcome, b: ReviewOutcome): boolean {
  return (
    JSON.stringify({ ...a, body: '', patchText: '', secret: '' }) ===
    JSON.stringify({ ...b, body: '', patchText: '', secret: '' })
  );
}

/** True when two outcomes are equal field for field (key order aside). */
function sameOutcome(a: ReviewOutcome, b: ReviewOutcome): boolean {
  const keys = Object.keys(a) as (keyof ReviewOutcome)[];
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}
