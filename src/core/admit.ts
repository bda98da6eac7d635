import type { NamespaceDelivery } from './delivery.js';
import { type Decision, decide, type Mode } from './policy/decide.js';
import type { InjectionSettings } from './policy/settings.js';
import { podDisplayName } from './pod.js';
import { type AdmissionReview, type AdmissionReviewResponse, denyResponse, patchResponse } from './review.js';

/** What the webhook knows besides the review: the endpoint's mode, the config slice and a random suffix. */
export interface AdmitOptions {
  readonly mode: Mode;
  /** The namespace's delivery label, as the endpoint tells it (absent: unset). */
  readonly delivery?: NamespaceDelivery;
  readonly settings: InjectionSettings;
  readonly excludedNamespaces: readonly string[];
  /** SECRET_NAME_RANDOM_LENGTH characters of Kubernetes' name alphabet, drawn by the caller; used only for generateName pods. */
  readonly secretSuffix: string;
}

/** The answer to one review plus what to log and count about it. */
export interface Admission {
  readonly decision: Decision;
  readonly response: AdmissionReviewResponse;
  /** The pod's name, or its generateName, for the log line ("" when the object is not a named pod). */
  readonly pod: string;
}

/**
 * Answers a parsed AdmissionReview. Requests for anything but a core/v1 pod (A14) or for a subresource (A15)
 * are allowed untouched; everything else goes through `decide`. Every response echoes `request.uid` (A12).
 */
export function admit(review: AdmissionReview, options: AdmitOptions): Admission {
  const request = review.request;
  const pod = podDisplayName(request.object);
  const { group, version, resource } = request.resource;
  let decision: Decision;
  if (group !== '' || version !== 'v1' || resource !== 'pods') {
    decision = {
      kind: 'skip',
      reason: 'not_a_pod',
      message: `${resource}.${group === '' ? 'core' : group}/${version} is not a pod`,
      warnings: [],
      patch: [],
      failedOpen: false,
    };
  } else if (request.subResource != null && request.subResource !== '') {
    decision = {
      kind: 'skip',
      reason: 'subresource',
      message: `subresource ${JSON.stringify(request.subResource)} is not mutated`,
      warnings: [],
      patch: [],
      failedOpen: false,
    };
  } else {
    decision = decide({
      pod: request.object,
      namespace: request.namespace ?? '',
      mode: options.mode,
      ...(options.delivery === undefined ? {} : { delivery: options.delivery }),
      operation: request.operation,
      excludedNamespaces: options.excludedNamespaces,
      settings: options.settings,
      secretSuffix: options.secretSuffix,
    });
  }
  return { decision, response: responseFor(review, decision), pod };
}

/** The AdmissionReview response for a decision. */
function responseFor(review: AdmissionReview, decision: Decision): AdmissionReviewResponse {
  switch (decision.kind) {
    case 'inject':
      return patchResponse(review, decision.patch, decision.warnings);
    case 'skip':
      // Usually no patch; a skipped pod that carried mtls-injector.io/* keys loses them.
      return patchResponse(review, decision.patch, decision.warnings);
    case 'deny':
      return denyResponse(
        review,
        `mtls-injector denied the pod (${decision.reason}): ${decision.message}`,
        decision.warnings,
      );
  }
}
