/**
 * Every reason code the webhook can give. A code is used verbatim as the `reason` metric label, the `reason`
 * log field, the Kubernetes Event reason and the `mtls-injector check` output, so codes are only ever added,
 * never renamed. docs/reasons.md documents each one (a test keeps the two in step).
 */
export const REASONS = {
  injected: { outcomes: ['inject'], summary: 'The pod was injected.' },
  reinjected: {
    outcomes: ['inject'],
    summary:
      'The pod carried our status annotation but something was missing (a container added by another webhook, or the structure itself); only the missing parts were added.',
  },
  already_injected: { outcomes: ['skip'], summary: 'Nothing to add: the pod is already injected.' },
  operation_not_create: {
    outcomes: ['skip'],
    summary: 'Only CREATE is mutated; UPDATE, DELETE, CONNECT pass.',
  },
  not_a_pod: { outcomes: ['skip'], summary: 'The request is not for a core/v1 pod.' },
  subresource: { outcomes: ['skip'], summary: 'The request is for a subresource (status, binding, …).' },
  excluded_namespace: {
    outcomes: ['skip'],
    summary: 'The namespace is never injected (kube-system, kube-node-lease, the install namespace).',
  },
  mirror_pod: { outcomes: ['skip'], summary: 'A mirror pod of a static pod; those cannot mount Secrets.' },
  ephemeral_containers: {
    outcomes: ['skip'],
    summary: 'The pod is created with ephemeralContainers (the API server rejects it later anyway).',
  },
  opted_out: { outcomes: ['skip'], summary: 'The pod has the opt-out annotation (permissive namespace).' },
  windows_unsupported: {
    outcomes: ['skip'],
    summary: 'A Windows pod and no init.windowsImage is configured.',
  },
  service_account_missing: {
    outcomes: ['skip'],
    summary: 'spec.serviceAccountName is empty (permissive namespace): no identity, allowed with a warning.',
  },
  service_account_required: {
    outcomes: ['deny'],
    summary: 'spec.serviceAccountName is empty in a strict namespace.',
  },
  opt_out_denied: { outcomes: ['deny'], summary: 'The opt-out annotation in a strict namespace.' },
  windows_image_required: {
    outcomes: ['deny'],
    summary: 'A Windows pod in a strict namespace and no init.windowsImage is configured.',
  },
  namespace_mismatch: {
    outcomes: ['deny'],
    summary: 'metadata.namespace of the pod differs from the namespace of the request.',
  },
  invalid_service_account: {
    outcomes: ['deny'],
    summary: 'The service account name cannot be part of a SPIFFE ID (not a DNS-1123 subdomain).',
  },
  invalid_namespace: {
    outcomes: ['deny'],
    summary: 'The namespace cannot be part of a SPIFFE ID (not a DNS-1123 label).',
  },
  volume_conflict: { outcomes: ['deny'], summary: 'The pod has a volume named mtls-certs that is not ours.' },
  mount_path_conflict: {
    outcomes: ['deny'],
    summary: 'A container already mounts something at (or under) /var/run/mtls.',
  },
  init_container_conflict: {
    outcomes: ['deny'],
    summary: 'The pod has a container named mtls-init that is not ours.',
  },
  malformed_pod: {
    outcomes: ['deny', 'skip'],
    summary:
      'The pod cannot be read (wrong types, no containers, no name or generateName): denied, or allowed with a warning on /mutate when webhook.failOpen is true.',
  },
  invalid_inject_annotation: {
    outcomes: ['deny', 'skip'],
    summary:
      'mtls-injector.io/inject has a value other than "true" or "false": denied, or allowed with a warning on /mutate when webhook.failOpen is true.',
  },
  invalid_delivery_label: {
    outcomes: ['deny', 'skip'],
    summary:
      'The namespace label mtls-injector.io/delivery is neither "secret" nor "podCertificate": denied, or allowed with a warning on /mutate when webhook.failOpen is true.',
  },
  delivery_unavailable: {
    outcomes: ['deny', 'skip'],
    summary:
      'podCertificate delivery is asked for (label or delivery.mode) but the rotator found no PodCertificateRequest API: denied, or allowed with a warning on /mutate when webhook.failOpen is true.',
  },
  invalid_review: {
    outcomes: ['error'],
    summary: 'HTTP 400: the body is not an AdmissionReview we can answer.',
  },
  unsupported_media_type: { outcomes: ['error'], summary: 'HTTP 415: the content type is not JSON.' },
  body_too_large: { outcomes: ['error'], summary: 'HTTP 413: the body is over webhook.bodyLimitBytes.' },
  deadline_exceeded: {
    outcomes: ['error'],
    summary: "The API server's deadline (?timeout=) passed before the review was answered.",
  },
  internal_error: {
    outcomes: ['error'],
    summary: 'HTTP 500: a bug; the failurePolicy decides. The log line has the details.',
  },
} as const satisfies Record<
  string,
  { readonly outcomes: readonly ('inject' | 'skip' | 'deny' | 'error')[]; readonly summary: string }
>;

export type Reason = keyof typeof REASONS;

type ReasonFor<O extends string> = {
  [R in Reason]: O extends (typeof REASONS)[R]['outcomes'][number] ? R : never;
}[Reason];

/** Reasons an `inject` decision carries. */
export type InjectReason = ReasonFor<'inject'>;
/** Reasons a `skip` decision (allowed, no patch) carries. */
export type SkipReason = ReasonFor<'skip'>;
/** Reasons a `deny` decision carries. */
export type DenyReason = ReasonFor<'deny'>;
/** Reasons of plain HTTP errors (no AdmissionReview answer). */
export type ErrorReason = ReasonFor<'error'>;
/** Reasons for cases that cannot be decided cleanly: denied, or allowed with a warning when failing open. */
export type UndecidableReason = DenyReason & SkipReason;
