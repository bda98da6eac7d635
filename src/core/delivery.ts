/**
 * How a pod gets its certificate files (docs/pod-certificates.md): `secret` (the rotator mints key and
 * certificate into a Secret the pod mounts) or `podCertificate` (the kubelet makes the key, files a
 * PodCertificateRequest and writes a projected volume; the rotator is the signer). The install chooses a
 * default (`delivery.mode`: secret, podCertificate or auto), a namespace may choose with the label
 * `mtls-injector.io/delivery`. The webhook makes no API call, so `auto` is decided from the facts the rotator
 * publishes about the cluster (a ConfigMap the webhook mounts and reloads). Pure.
 */
import { z } from 'zod';
import { parseGuardedJson } from './json-guard.js';
import { type SignedKeyType } from './pod-certificate.js';

/** The namespace label that chooses the delivery for the pods of one namespace. */
export const DELIVERY_LABEL = 'mtls-injector.io/delivery';
export {
  DELIVERY_MODES,
  type DeliveryMode,
  DELIVERY_SETTINGS,
  type DeliverySetting,
} from './delivery-modes.js';
import type { DeliveryMode, DeliverySetting } from './delivery-modes.js';

/** The namespace's delivery label as the webhook entry that called us tells it. */
export type NamespaceDelivery = 'unset' | DeliveryMode | 'invalid';

/** The trust bundle source of a podCertificate volume. */
export type TrustBundleSetting = 'auto' | 'clusterTrustBundle' | 'configMap';

/** What the rotator found the API server serves, published for the webhook and `check`. */
export interface ClusterFacts {
  /** `certificates.k8s.io/v1` (or v1beta1) when PodCertificateRequests are served, else null. */
  readonly podCertificateRequests: string | null;
  /** The group/version serving ClusterTrustBundles, else null. */
  readonly clusterTrustBundles: string | null;
  /** The API server's version. */
  readonly serverVersion: string;
  /** When and by which rotator replica this was found (RFC 3339, pod name). */
  readonly detectedAt: string;
  readonly detectedBy: string;
}

const factsShape = z.object({
  podCertificateRequests: z.string().nullable(),
  clusterTrustBundles: z.string().nullable(),
  serverVersion: z.string(),
  detectedAt: z.string(),
  detectedBy: z.string(),
});

/** The key of the facts in the published ConfigMap (and the file name where the webhook mounts it). */
export const CLUSTER_FACTS_KEY = 'delivery.json';

/** Reads published facts; a message naming what is wrong when they are no such JSON. */
export function parseClusterFacts(
  text: string,
): { readonly ok: true; readonly facts: ClusterFacts } | { readonly ok: false; readonly message: string } {
  const parsed = parseGuardedJson(text, 4);
  if (!parsed.ok) return { ok: false, message: parsed.message };
  const result = factsShape.safeParse(parsed.value);
  if (!result.success)
    return {
      ok: false,
      message: `expected ${Object.keys(factsShape.shape).join(', ')}: ${result.error.message}`,
    };
  return { ok: true, facts: result.data };
}

/** The facts as published: stable key order, so an unchanged finding gives the same bytes. */
export function encodeClusterFacts(facts: ClusterFacts): string {
  return JSON.stringify({
    podCertificateRequests: facts.podCertificateRequests,
    clusterTrustBundles: facts.clusterTrustBundles,
    serverVersion: facts.serverVersion,
    detectedAt: facts.detectedAt,
    detectedBy: facts.detectedBy,
  });
}

/** The delivery slice of the injection settings. */
export interface DeliverySettings {
  readonly mode: DeliverySetting;
  readonly signerName: string;
  readonly keyType: SignedKeyType;
  /** maxExpirationSeconds the projection asks for. */
  readonly maxExpirationSeconds: number;
  readonly trustBundle: TrustBundleSetting;
  /** The per-namespace ConfigMap holding ca.crt, when the trust bundle comes from a ConfigMap. */
  readonly trustBundleConfigMap: string;
  /** What the rotator last published, or undefined when nothing was (yet). */
  readonly facts: ClusterFacts | undefined;
}

/** Where a podCertificate volume's ca.crt comes from. */
export type TrustBundleSource =
  | { readonly kind: 'clusterTrustBundle'; readonly signerName: string }
  | { readonly kind: 'configMap'; readonly name: string };

/** The delivery chosen for a pod, with why in words (for the decision message and `check`). */
export type ResolvedDelivery =
  | { readonly mode: 'secret'; readonly why: string }
  | { readonly mode: 'podCertificate'; readonly why: string; readonly trustBundle: TrustBundleSource }
  | { readonly mode: 'invalid'; readonly message: string }
  | { readonly mode: 'unavailable'; readonly message: string };

function seen(facts: ClusterFacts): string {
  return `the rotator ${facts.detectedBy} found at ${facts.detectedAt} (Kubernetes ${facts.serverVersion})`;
}

/**
 * The delivery for a pod of a namespace whose label is `label`, under the install's `settings`. Refused, with a
 * message saying what to do: an invalid label; podCertificate where the rotator found no PodCertificateRequest
 * API (the API server would drop the projection and the pod would never get its files); the other delivery in
 * an install that fixed one (delivery.mode=secret gives its rotator no signer rights, podCertificate no Secret
 * rights outside its namespace). With delivery.mode=auto the label chooses freely.
 */
export function resolveDelivery(label: NamespaceDelivery, settings: DeliverySettings): ResolvedDelivery {
  const { facts } = settings;
  if (label === 'invalid') {
    return {
      mode: 'invalid',
      message: `namespace label ${DELIVERY_LABEL} must be "secret" or "podCertificate"; fix or remove the label`,
    };
  }
  let mode: DeliveryMode;
  let why: string;
  if (label !== 'unset') {
    mode = label;
    why = `namespace label ${DELIVERY_LABEL}=${label}`;
  } else if (settings.mode !== 'auto') {
    mode = settings.mode;
    why = `install default delivery.mode=${settings.mode}`;
  } else if (facts === undefined) {
    return {
      mode: 'secret',
      why: 'delivery.mode=auto and the rotator has not published what the API server serves yet; secret until it has',
    };
  } else if (facts.podCertificateRequests === null) {
    return { mode: 'secret', why: `delivery.mode=auto: no PodCertificateRequest API, as ${seen(facts)}` };
  } else {
    mode = 'podCertificate';
    why = `delivery.mode=auto: ${facts.podCertificateRequests} PodCertificateRequests served, as ${seen(facts)}`;
  }
  if (mode === 'podCertificate' && settings.mode === 'secret') {
    return {
      mode: 'unavailable',
      message: `${why} asks for podCertificate delivery, but this installation (delivery.mode=secret) does not sign pod certificates; remove the label, or install with delivery.mode=auto or podCertificate`,
    };
  }
  if (mode === 'secret') {
    if (settings.mode === 'podCertificate') {
      return {
        mode: 'unavailable',
        message: `${why} asks for a Secret, but this installation (delivery.mode=podCertificate) writes no Secrets outside its own namespace; remove the label, or install with delivery.mode=auto or secret`,
      };
    }
    return { mode, why };
  }
  if (facts !== undefined && facts.podCertificateRequests === null) {
    return {
      mode: 'unavailable',
      message: `${why} asks for podCertificate delivery, but the API server serves no PodCertificateRequest API (as ${seen(facts)}); set ${DELIVERY_LABEL}=secret on the namespace or delivery.mode=secret`,
    };
  }
  const useConfigMap =
    settings.trustBundle === 'configMap' ||
    (settings.trustBundle === 'auto' && facts !== undefined && facts.clusterTrustBundles === null);
  return {
    mode,
    why,
    trustBundle: useConfigMap
      ? { kind: 'configMap', name: settings.trustBundleConfigMap }
      : { kind: 'clusterTrustBundle', signerName: settings.signerName },
  };
}
