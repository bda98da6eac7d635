import type { Mode } from '../core/policy/decide.js';
import { OPT_IN_ENABLED, OPT_IN_LABEL, OPT_IN_STRICT } from '../core/names.js';

/**
 * Which entry of our MutatingWebhookConfiguration (if any) the API server sends a pod to. Mirrors the chart's
 * three entries, whose selectors never overlap:
 *   enabled.mtls-injector.io  namespace labelled mtls-injection=enabled          → /mutate (mode enabled)
 *   strict.mtls-injector.io   namespace labelled mtls-injection=strict           → /mutate/strict
 *   pod.mtls-injector.io      namespace without the label, pod labelled =enabled → /mutate (mode enabled)
 * Excluded namespaces (kube-system, kube-node-lease, the install namespace) never reach the webhook.
 */
export type Selection =
  | { readonly selected: true; readonly mode: Mode; readonly entry: 'enabled' | 'strict' | 'pod' }
  | { readonly selected: false; readonly why: 'excluded_namespace' | 'not_opted_in' };

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
  const mode = namespaceMode(namespaceLabels);
  if (mode !== undefined) return { selected: true, mode, entry: mode };
  if (!hasOptInLabel(namespaceLabels) && podOptsIn(podLabels)) {
    return { selected: true, mode: 'enabled', entry: 'pod' };
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
