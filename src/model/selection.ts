import { DELIVERY_LABEL, type NamespaceDelivery } from '../core/delivery.js';
import { endpointPath } from '../core/endpoints.js';
import type { Mode } from '../core/policy/decide.js';
import { OPT_IN_ENABLED, OPT_IN_LABEL, OPT_IN_STRICT } from '../core/names.js';

/** The three opt-in kinds, each with one entry per state of the delivery label. */
export type EntryKind = 'enabled' | 'strict' | 'pod';

/** Name suffix of each delivery label state (none for an unset label, so the original names stay). */
const DELIVERY_NAME: Readonly<Record<NamespaceDelivery, string>> = {
  unset: '',
  secret: '-secret',
  podCertificate: '-pod-certificate',
  invalid: '-invalid-delivery',
};

/** One entry of our MutatingWebhookConfiguration. */
export interface WebhookEntrySpec {
  readonly name: string;
  readonly path: string;
  readonly kind: EntryKind;
  readonly delivery: NamespaceDelivery;
}

/** The entry of an opt-in kind and a delivery label state. */
export function webhookEntry(kind: EntryKind, delivery: NamespaceDelivery): WebhookEntrySpec {
  return {
    name: `${kind}${DELIVERY_NAME[delivery]}.mtls-injector.io`,
    path: endpointPath(kind === 'strict' ? 'strict' : 'enabled', delivery),
    kind,
    delivery,
  };
}

/**
 * The chart's twelve entries, whose selectors never overlap: the opt-in kind (namespace enabled, namespace
 * strict, or a pod opting in where the namespace has no label) times the state of the namespace's
 * `mtls-injector.io/delivery` label (unset, secret, podCertificate, anything else). The path tells the webhook
 * both (src/core/endpoints.ts).
 */
export const WEBHOOK_ENTRIES: readonly WebhookEntrySpec[] = (['enabled', 'strict', 'pod'] as const).flatMap(
  (kind) => (['unset', 'secret', 'podCertificate', 'invalid'] as const).map((d) => webhookEntry(kind, d)),
);

/**
 * Which entry of our MutatingWebhookConfiguration (if any) the API server sends a pod to:
 *   enabled.mtls-injector.io  namespace labelled mtls-injection=enabled          → /mutate (mode enabled)
 *   strict.mtls-injector.io   namespace labelled mtls-injection=strict           → /mutate/strict
 *   pod.mtls-injector.io      namespace without the label, pod labelled =enabled → /mutate (mode enabled)
 * each with a `-secret`, `-pod-certificate` or `-invalid-delivery` variant when the namespace carries the
 * delivery label. Excluded namespaces (kube-system, kube-node-lease, the install namespace) never reach it.
 */
export type Selection =
  | {
      readonly selected: true;
      readonly mode: Mode;
      readonly entry: EntryKind;
      readonly delivery: NamespaceDelivery;
      /** The full entry name, e.g. `enabled-pod-certificate.mtls-injector.io`. */
      readonly entryName: string;
    }
  | { readonly selected: false; readonly why: 'excluded_namespace' | 'not_opted_in' };

/** The state of a namespace's delivery label. */
export function namespaceDelivery(labels: Labels): NamespaceDelivery {
  const value = labels?.[DELIVERY_LABEL];
  if (value === undefined) return 'unset';
  return value === 'secret' || value === 'podCertificate' ? value : 'invalid';
}

type Labels = Readonly<Record<string, string>> | null | undefined;

/** The namespace's mode from its opt-in label, or undefined when it is not opted in (absent or another value). */
export function namespaceMode(labels: Labels): Mode | undefined {
  const value = labels?.[OPT_IN_LABEL];
  if (value === OPT_IN_ENABLED) return 'enabled';
  if (value === OPT_IN_STRICT) return 'strict';
  return undefined;
}

/** Whether the namespace carries the opt-in label key at all (any value keeps the pod-level entry away). */
function hasOptInLabel(labels: Labels): boolean {
  return labels?.[OPT_IN_LABEL] !== undefined;
}

/** Whether the pod opts in by itself (only honoured in namespaces without the label). */
export function podOptsIn(podLabels: Labels): boolean {
  return podLabels?.[OPT_IN_LABEL] === OPT_IN_ENABLED;
}

/** The webhook entry that would see a pod with `podLabels` in `namespace`, or why none would. */
export function webhookSelection(
  namespace: string,
  namespaceLabels: Labels,
  podLabels: Labels,
  excludedNamespaces: readonly string[],
): Selection {
  if (excludedNamespaces.includes(namespace)) return { selected: false, why: 'excluded_namespace' };
  const delivery = namespaceDelivery(namespaceLabels);
  const mode = namespaceMode(namespaceLabels);
  if (mode !== undefined)
    return { selected: true, mode, entry: mode, delivery, entryName: webhookEntry(mode, delivery).name };
  if (!hasOptInLabel(namespaceLabels) && podOptsIn(podLabels)) {
    return {
      selected: true,
      mode: 'enabled',
      entry: 'pod',
      delivery,
      entryName: webhookEntry('pod', delivery).name,
    };
  }
  return { selected: false, why: 'not_opted_in' };
}

/**
 * True when a namespace has just opted in: it carries enabled|strict now and did not before. The rotator calls
 * this on a namespace watch event to start automatic onboarding (`rotator.onboardingAuto`).
 */
export function gainedOptIn(before: Labels, after: Labels): boolean {
  return namespaceMode(before) === undefined && namespaceMode(after) !== undefined;
}
