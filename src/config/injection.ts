import { ALWAYS_EXCLUDED_NAMESPACES } from '../core/names.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import type { Config } from './schema.js';

/**
 * The injection slice of the loaded Config, as the plain values `decide` takes. `delivery.facts` is left
 * undefined: the webhook fills it from webhook.deliveryFactsFile, `check` from the published ConfigMap.
 */
export function injectionSettings(config: Config): InjectionSettings {
  return {
    trustDomain: config.trustDomain,
    initEnabled: config.init.enabled,
    initImage: config.init.image,
    initImagePullPolicy: config.init.imagePullPolicy,
    windowsInitImage: config.init.windowsImage,
    initWaitTimeoutSeconds: config.init.waitTimeout,
    failOpen: config.webhook.failOpen,
    delivery: {
      mode: config.delivery.mode,
      signerName: config.podCertificate.signerName,
      keyType: config.podCertificate.keyType,
      maxExpirationSeconds: config.podCertificate.maxExpiration,
      trustBundle: config.podCertificate.trustBundle,
      trustBundleConfigMap: config.podCertificate.trustBundleConfigMap,
      facts: undefined,
    },
  };
}

/**
 * Namespaces never injected: kube-system, kube-node-lease and the install namespace (the chart keeps them away
 * from the webhook too; this is the second guard, faults C20).
 */
export function excludedNamespaces(config: Pick<Config, 'installNamespace'>): readonly string[] {
  return [...ALWAYS_EXCLUDED_NAMESPACES, config.installNamespace];
}
