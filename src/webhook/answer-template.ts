import { GENERATE_NAME_ALPHABET, SECRET_NAME_RANDOM_LENGTH } from '../core/names.js';
import type { AdmissionReview } from '../core/review.js';
import type { ReviewOutcome } from './outcome.js';

/** Decides `review` with `suffix` as the random Secret-name part, with the patch text (reviewOutcome). */
export type OutcomeFor = (review: AdmissionReview, suffix: string) => ReviewOutcome;

/**
 * Text with the per-review parts left out: `text[0] + hole[0] + text[1] + hole[1] + …`, each hole either the
 * random Secret-name suffix (`s`) or the token volume name's 5 characters (`t`, pod-slots.ts). A text neither
 * reaches is one piece.
 */
interface Pieces {
  readonly text: readonly string[];
  readonly holes: readonly ('s' | 't')[];
}

/**
 * The same review twice more, for the template's making and check: `second` has the review's uid and other
 * per-pod strings (its token name `secondToken` in place of `firstToken`), `check` another uid and per-pod
 * strings again. Each token name differs from the others at every position.
 */
export interface Variants {
  readonly firstToken: string;
  readonly second: AdmissionReview;
  readonly secondToken: string;
  readonly check: AdmissionReview;
  readonly checkToken: string;
}

/** Three suffixes that differ from each other at every position (so every place a suffix went is found). */
const PROBE_SUFFIXES = [0, 1, 2].map((i) =>
  (GENERATE_NAME_ALPHABET[i] as string).repeat(SECRET_NAME_RANDOM_LENGTH),
);
/** The uid the template is checked with: any other uid must render the same way. */
const PROBE_UID = 'answer-template-check';

/**
 * The answer to one review with its per-request parts left open: `request.uid`, echoed in the response; the
 * random suffix of a generateName pod's Secret name, which is in the patch and the log line; and the pod's
 * token volume name where the patch carries it (pod-slots.ts). Everything else about a review (the decision,
 * the patch, the warnings, what is logged and counted) is a function of the review without those and of the
 * settings, so one decision serves every review that differs only in them (the pods of one rollout).
 *
 * Built by running the real decision twice, with suffixes and token names that differ at every position,
 * and taking what differs as the places they go; then checked once more with a third uid, suffix and
 * per-pod strings against the real decision, byte for byte. A review whose answer depends on them in any
 * other way gets no template.
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

  /**
   * A template for `review`, or undefined when its answer cannot be rendered from one. `variants`, when
   * given, are the same review with other per-pod strings (pod-slots.ts): the second run and the check use
   * them, so the token volume's name becomes a hole where the answer has it and any other dependence on
   * them means no template.
   */
  static build(
    review: AdmissionReview,
    outcomeFor: OutcomeFor,
    variants?: Variants,
  ): AnswerTemplate | undefined {
    const [s1, s2, s3] = PROBE_SUFFIXES as [string, string, string];
    const t1 = variants?.firstToken ?? '';
    const t2 = variants?.secondToken ?? '';
    const first = outcomeFor(review, s1);
    const second = outcomeFor(variants?.second ?? review, s2);
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
      const patch = holePieces(first.patchText, second.patchText, [s1, s2], [t1, t2]);
      if (patch === undefined) return undefined;
      tail = { before, after, patch };
    }
    let secret: Pieces | undefined;
    if (first.secret !== undefined || second.secret !== undefined) {
      if (first.secret === undefined || second.secret === undefined) return undefined;
      secret = holePieces(first.secret, second.secret, [s1, s2], [t1, t2]);
      if (secret === undefined) return undefined;
    }
    const template = new AnswerTemplate(first, head, tail, secret);
    // The check: a third uid and suffix (and the third per-pod strings), rendered and decided for real, must
    // agree byte for byte.
    const base = variants?.check ?? review;
    const probe = { ...base, request: { ...base.request, uid: PROBE_UID } } as AdmissionReview;
    const expected = outcomeFor(probe, s3);
    const rendered = template.render(PROBE_UID, s3, variants?.checkToken ?? '');
    return sameOutcome(expected, rendered) ? template : undefined;
  }

  /**
   * The outcome for a review equal to the template's but for `uid` and its per-pod strings (`token`: the 5
   * characters of its token volume's name, '' when it has none), with `suffix` drawn for it.
   */
  render(uid: string, suffix: string, token = ''): ReviewOutcome {
    const { tail } = this;
    let body: string;
    let patchText: string | undefined;
    if (tail.patch === undefined) {
      patchText = undefined;
      body = this.head + JSON.stringify(uid) + tail.before;
    } else {
      patchText = fill(tail.patch, suffix, token);
      body = [this.head, JSON.stringify(uid), tail.before, base64(patchText), tail.after].join('');
    }
    return {
      ...this.sample,
      body,
      patchText,
      uid,
      secret: this.secret === undefined ? undefined : fill(this.secret, suffix, token),
    };
  }
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function fill(pieces: Pieces, suffix: string, token: string): string {
  const { text, holes } = pieces;
  if (holes.length === 0) return text[0] as string;
  let out = text[0] as string;
  for (let i = 0; i < holes.length; i++) out += (holes[i] === 's' ? suffix : token) + (text[i + 1] as string);
  return out;
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
 * `a` split at the places where `b` differs from it, when they differ exactly where a suffix (`sa` in `a`,
 * `sb` in `b`) or a token name's characters (`ta`, `tb`) stand, whole; undefined otherwise (and when a token
 * hole is asked for with no token, `ta` empty).
 */
function holePieces(
  a: string,
  b: string,
  [sa, sb]: readonly [string, string],
  [ta, tb]: readonly [string, string],
): Pieces | undefined {
  if (a.length !== b.length) return undefined;
  const text: string[] = [];
  const holes: ('s' | 't')[] = [];
  let start = 0;
  let i = 0;
  while (i < a.length) {
    if (a.charCodeAt(i) === b.charCodeAt(i)) {
      i++;
      continue;
    }
    text.push(a.slice(start, i));
    if (a.startsWith(sa, i) && b.startsWith(sb, i)) {
      holes.push('s');
      i += sa.length;
    } else if (ta !== '' && a.startsWith(ta, i) && b.startsWith(tb, i)) {
      holes.push('t');
      i += ta.length;
    } else return undefined;
    start = i;
  }
  text.push(a.slice(start));
  return { text, holes };
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
