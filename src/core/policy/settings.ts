import type { DeliverySettings } from '../delivery.js';

/**
 * The slice of the configuration injection depends on, as plain values, so `check` and `inject --render` can
 * build one too. `src/config/injection.ts` derives it from the loaded Config.
 */
export interface InjectionSettings {
  readonly trustDomain: string;
  /** Whether injection adds the mtls-init container (init.enabled); false: only the volume, mounts and env. */
  readonly initEnabled: boolean;
  readonly initImage: string;
  readonly initImagePullPolicy: 'IfNotPresent' | 'Always' | 'Never';
  /** Image of mtls-init for Windows pods; empty means Windows pods are skipped with a warning. */
  readonly windowsInitImage: string;
  /** Seconds mtls-init waits for the certificate files. */
  readonly initWaitTimeoutSeconds: number;
  /** On `/mutate` (never strict), allow with a warning what cannot be decided cleanly. */
  readonly failOpen: boolean;
  /** How files reach the pod: the install's delivery default and the podCertificate projection's settings. */
  readonly delivery: DeliverySettings;
}
