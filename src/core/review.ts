import { z } from 'zod';
import { patchJson } from './mutate/json-text.js';
import type { PatchOperation } from './mutate/patch.js';
import { formatPath } from './pod.js';
import { compileIssues } from './schema-check.js';

/** The AdmissionReview versions answered; the response is always in the version asked (A8). */
const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

const groupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });
const groupVersionResource = z.object({ group: z.string(), version: z.string(), resource: z.string() });

const requestFields = {
  uid: z.string().min(1).max(256),
  kind: groupVersionKind,
  resource: groupVersionResource,
  subResource: z.string().nullish(),
  name: z.string().nullish(),
  namespace: z.string().nullish(),
  dryRun: z.boolean().nullish(),
};

/**
 * The AdmissionReview request envelope. `object` is kept as the raw value (same reference, never copied or
 * modelled) so unknown pod fields survive; its shape is checked later by the policy. A CREATE must carry an
 * object (A16); the other operations may carry anything, or nothing.
 */
export const admissionReviewSchema = z.object({
  apiVersion: z.enum(ADMISSION_API_VERSIONS),
  kind: z.literal('AdmissionReview'),
  request: z.discriminatedUnion('operation', [
    z.object({
      ...requestFields,
      operation: z.literal('CREATE'),
      object: z.record(z.string(), z.unknown()),
    }),
    z.object({
      ...requestFields,
      operation: z.enum(['UPDATE', 'DELETE', 'CONNECT']),
      object: z.unknown(),
    }),
  ]),
});

/**
 * What is wrong with a body as an AdmissionReview, or undefined (schema-check.ts): a valid body is used as it
 * is, with no copy, and zod parses only the bodies the compiled check refuses, to say why.
 */
const reviewIssues = compileIssues(admissionReviewSchema);

export type AdmissionReview = z.infer<typeof admissionReviewSchema>;

/** The response envelope: `patch` and `patchType` are set together or not at all (A13). */
export interface AdmissionReviewResponse {
  readonly apiVersion: AdmissionApiVersion;
  readonly kind: 'AdmissionReview';
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly patch?: string;
    readonly patchType?: 'JSONPatch';
    readonly status?: { readonly code: number; readonly message: string };
    readonly warnings?: readonly string[];
  };
}

/** Parses a decoded body into an AdmissionReview, or a message naming what is wrong (→ HTTP 400). */
export function parseAdmissionReview(
  body: unknown,
):
  { readonly ok: true; readonly review: AdmissionReview } | { readonly ok: false; readonly message: string } {
  const issues = reviewIssues(body);
  if (issues === undefined) return { ok: true, review: body as AdmissionReview };
  const problems = issues.slice(0, 3).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  return { ok: false, message: `not an AdmissionReview we can answer: ${problems.join('; ')}` };
}

function envelope(
  review: AdmissionReview,
  response: Omit<AdmissionReviewResponse['response'], 'uid'>,
): AdmissionReviewResponse {
  return {
    apiVersion: review.apiVersion,
    kind: 'AdmissionReview',
    response: { uid: review.request.uid, ...response },
  };
}

function withWarnings(warnings: readonly string[]): { warnings?: readonly string[] } {
  return warnings.length === 0 ? {} : { warnings: warnings.map(sanitizeWarning) };
}

/** Allowed, no patch. */
export function allowResponse(
  review: AdmissionReview,
  warnings: readonly string[] = [],
): AdmissionReviewResponse {
  return envelope(review, { allowed: true, ...withWarnings(warnings) });
}

/** Allowed with the patch (base64 JSON, patchType JSONPatch); an empty patch is a plain allow. */
export function patchResponse(
  review: AdmissionReview,
  patch: readonly PatchOperation[],
  warnings: readonly string[] = [],
): AdmissionReviewResponse {
  if (patch.length === 0) return allowResponse(review, warnings);
  return envelope(review, {
    allowed: true,
    patch: Buffer.from(patchJson(patch), 'utf8').toString('base64'),
    patchType: 'JSONPatch',
    ...withWarnings(warnings),
  });
}

/**
 * `JSON.stringify(response)`, byte for byte (a test holds the two equal), without having JSON.stringify scan
 * the base64 patch character by character for escapes it cannot contain: that scan cost more than building
 * the rest of the answer.
 */
export function encodeAdmissionResponse(review: AdmissionReviewResponse): string {
  const { uid, allowed, patch, patchType, warnings, status } = review.response;
  if (patch === undefined || status !== undefined) return JSON.stringify(review);
  // Joined into one flat string: fastify measures it and the socket encodes it, and each would flatten a
  // concatenation again.
  return [
    '{"apiVersion":',
    JSON.stringify(review.apiVersion),
    ',"kind":"AdmissionReview","response":{"uid":',
    JSON.stringify(uid),
    ',"allowed":',
    String(allowed),
    ',"patch":"',
    patch,
    patchType === undefined ? '"' : `","patchType":${JSON.stringify(patchType)}`,
    warnings === undefined ? '' : `,"warnings":${JSON.stringify(warnings)}`,
    '}}',
  ].join('');
}

/** Denied: a hard rejection whatever the failurePolicy, with a message that says what to do. */
export function denyResponse(
  review: AdmissionReview,
  message: string,
  warnings: readonly string[] = [],
  code = 403,
): AdmissionReviewResponse {
  return envelope(review, { allowed: false, status: { code, message }, ...withWarnings(warnings) });
}

/**
 * Kubernetes shows warnings to the user verbatim (kubectl prints them): no control characters, and long ones
 * are truncated by clients anyway, so cap them.
 */
export function sanitizeWarning(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > 512 ? `${clean.slice(0, 509)}...` : clean;
}
