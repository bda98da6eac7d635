import type { Config } from '../../config/schema.js';
import { ALWAYS_EXCLUDED_NAMESPACES } from '../names.js';

/** The slice of the configuration injection depends on. Plain values, so `check` can build one too. */
export interface InjectionSettings {
  readonly trustDomain: string;
  readonly initImage: string;
  readonly initImagePullPolicy: 'IfNotPresent' | 'Always' | 'Never';
  /** Image of mtls-init for Windows pods; empty means Windows pods are skipped with a warning. */
  readonly windowsInitImage: string;
  /** Seconds mtls-init waits for the certificate files. */
  readonly initWaitTimeoutSeconds: number;
  /** On `/mutate` (never strict), allow with a warning what cannot be decided cleanly. */
  readonly failOpen: boolean;
}

/** The injection slice of the loaded Config. */
export function injectionSettings(config: Config): InjectionSettings {
  return {
    trustDomain: config.trustDomain,
    initImage: config.init.image,
    initImagePullPolicy: config.init.imagePullPolicy,
    windowsInitImage: config.init.windowsImage,
    initWaitTimeoutSeconds: config.init.waitTimeout,
    failOpen: config.webhook.failOpen,
  };
}

/** Namespaces never injected: kube-system, kube-node-lease and the install namespace (C20, belt and braces). */
export function excludedNamespaces(config: Pick<Config, 'installNamespace'>): readonly string[] {
  return [...ALWAYS_EXCLUDED_NAMESPACES, config.installNamespace];
}
