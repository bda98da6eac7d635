import type { Config } from '../config/schema.js';
import type { EventRecorder, PodObject, SecretApi, WebhookConfigApi } from '../kube/types.js';
import type { Log } from '../observability/logger.js';
import type { Leadership } from './leader.js';
import type { CertOps } from './ports.js';
import type { RotatorCounters } from './reporter.js';
import type { RevocationHooks } from './sync-pod.js';
import type { Clock } from './time.js';

/** What the controller is built from; in tests, in-memory APIs and a fake clock. */
export interface ControllerDeps {
  readonly config: Config;
  readonly secrets: SecretApi;
  readonly events: EventRecorder;
  readonly certs: CertOps;
  readonly leadership: Leadership;
  readonly clock: Clock;
  readonly random: () => number;
  /** Waits; the write throttle sleeps through it. */
  readonly sleep: (ms: number) => Promise<void>;
  readonly counters: RotatorCounters;
  readonly log: Log;
  /** Our MutatingWebhookConfiguration; when given, the webhook's serving certificate is one more work item. */
  readonly webhookConfig?: WebhookConfigApi | undefined;
  /** The labels of a namespace as the Namespace watch last showed them (the opt-in is re-checked on every sync). */
  readonly namespaceLabels: (name: string) => Readonly<Record<string, string>> | undefined;
  /** Reads one pod, undefined for 404: the owner of a Secret the pod watch does not show. */
  readonly getPod: (namespace: string, name: string) => Promise<PodObject | undefined>;
  /** The revocation record and the published ca.crl; absent, nothing is revoked and no ca.crl is copied. */
  readonly revocation?: RevocationHooks | undefined;
}
