/**
 * The webhook's endpoints. The API server calls the one its matching MutatingWebhookConfiguration entry names;
 * the path is all the webhook learns about the namespace (it makes no API call): its mode (`/strict`) and its
 * delivery label (`/secret`, `/pod-certificate`, `/invalid-delivery`, or none). Changing a path is a breaking
 * change: the chart's entries name them.
 */
import type { NamespaceDelivery } from './delivery.js';
import { MUTATE_PATH, MUTATE_STRICT_PATH } from './names.js';
import type { Mode } from './policy/decide.js';

/** One endpoint and what its path tells. */
export interface WebhookEndpoint {
  readonly path: string;
  readonly mode: Mode;
  readonly delivery: NamespaceDelivery;
}

/** The path segment of each namespace delivery label state (none for an unset label). */
export const DELIVERY_SEGMENT: Readonly<Record<NamespaceDelivery, string>> = {
  unset: '',
  secret: '/secret',
  podCertificate: '/pod-certificate',
  invalid: '/invalid-delivery',
};

/** Every endpoint: both modes × the four states of the delivery label. */
export const WEBHOOK_ENDPOINTS: readonly WebhookEndpoint[] = (['enabled', 'strict'] as const).flatMap(
  (mode) =>
    (['unset', 'secret', 'podCertificate', 'invalid'] as const).map((delivery) => ({
      path: endpointPath(mode, delivery),
      mode,
      delivery,
    })),
);

/** The path of the endpoint of a mode and delivery label state. */
export function endpointPath(mode: Mode, delivery: NamespaceDelivery): string {
  return `${mode === 'strict' ? MUTATE_STRICT_PATH : MUTATE_PATH}${DELIVERY_SEGMENT[delivery]}`;
}
