import { type NamespaceDelivery, resolveDelivery } from '../delivery.js';
import type { InjectionStatus } from '../mutate/status.js';
import type { VolumePlan } from '../mutate/volume.js';
import { mountedSecretOf, type RawMetadata, type RawPodSpec } from '../pod.js';
import {
  isDns1123Subdomain,
  isSecretNameOfPod,
  secretNameForGenerateName,
  secretNameForPodName,
} from '../secret-name.js';
import type { InjectionSettings } from './settings.js';

/** The volume a pod gets, with why its delivery was chosen, or why none can be chosen. */
export type VolumeChoice =
  | { readonly ok: true; readonly plan: VolumePlan; readonly why: string }
  | {
      readonly ok: false;
      readonly reason: 'malformed_pod' | 'invalid_delivery_label' | 'delivery_unavailable';
      readonly message: string;
    };

const q = JSON.stringify;

/**
 * Chooses the delivery (docs/pod-certificates.md) and the volume. A pod that carries our status keeps the
 * delivery it was injected with, so re-injection never switches a pod between Secret and podCertificate;
 * otherwise the namespace's label (told by the endpoint) or the install's default decides.
 */
export function chooseVolume(
  meta: RawMetadata,
  spec: RawPodSpec,
  status: InjectionStatus | undefined,
  label: NamespaceDelivery,
  settings: InjectionSettings,
  secretSuffix: string,
): VolumeChoice {
  const kept =
    status === undefined ? undefined : status.delivery === 'podCertificate' ? 'podCertificate' : 'secret';
  const resolved = resolveDelivery(kept ?? label, settings.delivery);
  const why =
    kept === undefined ? undefined : `kept from the pod's ${q('mtls-injector.io/status')} annotation`;
  if (resolved.mode === 'invalid')
    return { ok: false, reason: 'invalid_delivery_label', message: resolved.message };
  if (resolved.mode === 'unavailable') {
    if (kept === undefined) return { ok: false, reason: 'delivery_unavailable', message: resolved.message };
    // A pod injected earlier keeps its projection; only its structure is ensured.
    return {
      ok: true,
      plan: podCertificatePlan(settings, {
        kind: 'clusterTrustBundle',
        signerName: settings.delivery.signerName,
      }),
      why: why ?? '',
    };
  }
  if (resolved.mode === 'podCertificate') {
    return { ok: true, plan: podCertificatePlan(settings, resolved.trustBundle), why: why ?? resolved.why };
  }
  const name = meta.name ?? '';
  const generateName = meta.generateName ?? '';
  // The name a first pass recorded is kept on reinvocation only when the pod mounts that very Secret, so an
  // annotation alone never picks a Secret (a pod's author can write both, which is why the rotator, not this
  // check, keeps Secrets of live pods apart).
  const secretName =
    status?.secret !== undefined &&
    isSecretNameOfPod(status.secret, meta) &&
    mountedSecretOf(spec) === status.secret
      ? status.secret
      : name !== ''
        ? secretNameForPodName(name)
        : secretNameForGenerateName(generateName, secretSuffix);
  if (!isDns1123Subdomain(secretName)) {
    return {
      ok: false,
      reason: 'malformed_pod',
      message: `pod name ${q(name || generateName)} does not give a valid Secret name (${q(secretName)}); use a DNS-1123 name`,
    };
  }
  return { ok: true, plan: { kind: 'secret', secretName }, why: why ?? resolved.why };
}

function podCertificatePlan(
  settings: InjectionSettings,
  trustBundle: Extract<VolumePlan, { kind: 'podCertificate' }>['trustBundle'],
): VolumePlan {
  const { signerName, keyType, maxExpirationSeconds, trustBundleConfigMap } = settings.delivery;
  return {
    kind: 'podCertificate',
    signerName,
    keyType,
    maxExpirationSeconds,
    trustBundle,
    crlConfigMap: trustBundleConfigMap,
  };
}
