import type { DeliverySettings } from '../core/delivery.js';
import { parseStatus } from '../core/mutate/status.js';
import { ENV_INIT_WAIT_TIMEOUT, INIT_CONTAINER_NAME, STATUS_ANNOTATION, VOLUME_NAME } from '../core/names.js';
import { isSignedKeyType } from '../core/pod-certificate.js';
import type { RawVolume } from '../core/pod.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import type { PodObject } from '../kube/types.js';

/**
 * The injection settings a pod was injected with, read from its mtls-init container (fallback: configured).
 * A pod whose status says injection added no mtls-init (init.enabled=false then) is judged without one.
 */
export function settingsFromPod(pod: PodObject, fallback: InjectionSettings): InjectionSettings {
  const inits = pod.spec?.['initContainers'];
  const init = Array.isArray(inits)
    ? (inits as { name?: unknown; image?: unknown; imagePullPolicy?: unknown; env?: unknown }[]).find(
        (c) => c.name === INIT_CONTAINER_NAME,
      )
    : undefined;
  if (init === undefined) {
    // Injected without mtls-init when its status says so (init.enabled=false then); else judged as configured.
    const status = parseStatus(pod.metadata.annotations?.[STATUS_ANNOTATION]);
    return status !== undefined && status.initContainer === undefined
      ? { ...fallback, initEnabled: false }
      : fallback;
  }
  const image = typeof init.image === 'string' ? init.image : fallback.initImage;
  const policy = init.imagePullPolicy;
  const env = Array.isArray(init.env) ? (init.env as { name?: unknown; value?: unknown }[]) : [];
  const wait = env.find((e) => e.name === ENV_INIT_WAIT_TIMEOUT)?.value;
  const waitSeconds = typeof wait === 'string' && /^\d+s$/.test(wait) ? Number(wait.slice(0, -1)) : undefined;
  const windows = (pod.spec?.['os'] as { name?: unknown } | undefined)?.name === 'windows';
  return {
    ...fallback,
    initEnabled: true,
    delivery: deliveryFromPod(pod, fallback.delivery),
    initImage: windows ? fallback.initImage : image,
    windowsInitImage: windows ? image : fallback.windowsInitImage,
    initImagePullPolicy:
      policy === 'Always' || policy === 'Never' || policy === 'IfNotPresent'
        ? policy
        : fallback.initImagePullPolicy,
    initWaitTimeoutSeconds: waitSeconds ?? fallback.initWaitTimeoutSeconds,
  };
}

/** The podCertificate settings an injected pod's projection was made with (fallback: configured). */
function deliveryFromPod(pod: PodObject, fallback: DeliverySettings): DeliverySettings {
  const volumes = pod.spec?.['volumes'];
  const ours = Array.isArray(volumes)
    ? (volumes as RawVolume[]).find((v) => v.name === VOLUME_NAME)
    : undefined;
  const sources = (ours?.projected as { sources?: unknown } | null | undefined)?.sources;
  if (!Array.isArray(sources)) return fallback;
  type Source = {
    podCertificate?: { signerName?: unknown; keyType?: unknown; maxExpirationSeconds?: unknown };
    clusterTrustBundle?: unknown;
    configMap?: { name?: unknown };
  };
  const all = sources as Source[];
  const pc = all.find((x) => x.podCertificate != null)?.podCertificate;
  const cm = all.find((x) => x.configMap != null)?.configMap;
  const keyType = pc?.keyType;
  return {
    ...fallback,
    signerName: typeof pc?.signerName === 'string' ? pc.signerName : fallback.signerName,
    keyType: typeof keyType === 'string' && isSignedKeyType(keyType) ? keyType : fallback.keyType,
    maxExpirationSeconds:
      typeof pc?.maxExpirationSeconds === 'number' ? pc.maxExpirationSeconds : fallback.maxExpirationSeconds,
    trustBundle: cm !== undefined ? 'configMap' : 'clusterTrustBundle',
    trustBundleConfigMap: typeof cm?.name === 'string' ? cm.name : fallback.trustBundleConfigMap,
  };
}
