import { projectedSigner } from '../core/mutate/volume.js';
import type { RawVolume } from '../core/pod.js';
import { type Decision, decide } from '../core/policy/decide.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import { MANAGED_LABEL, MIRROR_POD_ANNOTATION, VOLUME_NAME } from '../core/names.js';
import type { PodObject } from '../kube/types.js';
import type { Selection } from './selection.js';

/** Characters decide() uses only for pods that have no name yet; stored pods always have one. */
const UNUSED_SUFFIX = 'bcdfgbcdfg';

/** Whether the webhook marked the pod (`mtls-injector.io/managed: "true"`). */
export function isInjected(pod: PodObject): boolean {
  return pod.metadata.labels?.[MANAGED_LABEL] === 'true';
}

/**
 * The Secret a pod mounts as its identity: `secretName` of its one `mtls-certs` Secret volume. This, not an
 * annotation, is the truth about which Secret a pod uses: `spec.volumes` cannot change after the pod is
 * created. Undefined when there is no such volume, more than one, or it is not a Secret volume.
 */
export function mountedSecretName(pod: PodObject): string | undefined {
  const volumes = pod.spec?.['volumes'];
  if (!Array.isArray(volumes)) return undefined;
  const ours = (volumes as unknown[]).filter(
    (v): v is { secret?: unknown } =>
      typeof v === 'object' && v !== null && (v as { name?: unknown }).name === VOLUME_NAME,
  );
  if (ours.length !== 1) return undefined;
  const secret = ours[0]?.secret;
  const name =
    typeof secret === 'object' && secret !== null
      ? (secret as { secretName?: unknown }).secretName
      : undefined;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** The signer of the pod's `mtls-certs` volume when it is a podCertificate projection, else undefined. */
export function mountedPodCertificateSigner(pod: PodObject): string | undefined {
  const volumes = pod.spec?.['volumes'];
  if (!Array.isArray(volumes)) return undefined;
  const ours = (volumes as RawVolume[]).filter((v) => v.name === VOLUME_NAME);
  return ours.length === 1 && ours[0] !== undefined ? projectedSigner(ours[0]) : undefined;
}

/** A pod that runs or will run: not being deleted and not finished (Succeeded/Failed). */
export function isLive(pod: PodObject): boolean {
  if (pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** A mirror pod of a static pod (the kubelet owns it; it can never be injected). */
export function isMirror(pod: PodObject): boolean {
  return pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined;
}

/**
 * What the webhook would decide for this pod if it were created now: decide() on the stored pod, as a CREATE
 * in its namespace with the namespace's mode. Undefined when the webhook would not be called at all.
 */
export function webhookDecision(
  pod: PodObject,
  namespace: string,
  selection: Selection,
  settings: InjectionSettings,
  excludedNamespaces: readonly string[],
): Decision | undefined {
  if (!selection.selected) return undefined;
  return decide({
    pod,
    namespace,
    mode: selection.mode,
    delivery: selection.delivery,
    operation: 'CREATE',
    excludedNamespaces,
    settings,
    secretSuffix: UNUSED_SUFFIX,
  });
}
