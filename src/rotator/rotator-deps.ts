import type { Registry } from 'prom-client';
import type {
  ClusterWatches,
  ConfigMapApi,
  EventRecorder,
  InspectApi,
  LeaseApi,
  SecretApi,
  WebhookConfigApi,
  WorkloadApi,
} from '../kube/types.js';
import type { Log } from '../observability/logger.js';
import type { Readiness } from '../observability/probe-server.js';
import type { ControllerStats } from './controller.js';
import type { PodCertificateDeps } from './signer/assemble.js';
import type { Clock, Timers } from './time.js';

/** The outside world the rotator runs against; production passes the real API and Node's clock. */
export interface RotatorDeps {
  readonly secrets: SecretApi;
  readonly leases: LeaseApi;
  readonly events: EventRecorder;
  readonly webhookConfig: WebhookConfigApi;
  /** The trust-bundle ConfigMap the leader publishes (in installNamespace). */
  readonly configMaps: ConfigMapApi;
  /** Pods and ReplicaSets of one namespace, read by the drift report. */
  readonly workloads: Pick<WorkloadApi, 'listPods' | 'listReplicaSets'>;
  /** One pod by name: whether the pod that owns a Secret still exists. */
  readonly pods: Pick<InspectApi, 'getPod'>;
  readonly watches: ClusterWatches;
  /** Leader-election identity (the pod name). */
  readonly identity: string;
  readonly log: Log;
  /** Address of the probe and metrics server (port: `rotator.probePort`; 0 picks a free one). */
  readonly probeHost: string;
  /**
   * Automatic onboarding (`rotator.onboardingAuto`): told each namespace that opts in while this replica
   * leads, and cancelled the moment it stops leading.
   */
  readonly onboarder?: { enqueue(namespace: string): void; cancel(): void } | undefined;
  /** Pod Certificates (docs/pod-certificates.md): what the API serves and its APIs; absent: Secrets only. */
  readonly podCertificates?: PodCertificateDeps | undefined;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Waits (the write throttle); defaults to a sleep on `timers`. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** A started rotator. */
export interface RunningRotator {
  readonly probePort: number;
  readonly registry: Registry;
  readiness(): Readiness;
  isLeader(): boolean;
  stats(): ControllerStats;
  /** Stops every loop and watch, finishes the work in flight, releases the lease, closes the probe server. */
  stop(): Promise<void>;
}
