/**
 * Over 300 lines: startRotator is the one place the rotator is assembled (docs/design.md, "The rotator"); its
 * wiring of watches, loops, leadership and readiness reads as one story and would only scatter if split.
 */
import { Registry } from 'prom-client';
import { excludedNamespaces } from '../config/injection.js';
import type { Config } from '../config/schema.js';
import type {
  ClusterWatches,
  EventRecorder,
  LeaseApi,
  NamespaceObject,
  SecretApi,
  WatchHandlers,
  WebhookConfigApi,
  WorkloadApi,
} from '../kube/types.js';
import { gainedOptIn } from '../model/selection.js';
import type { Log } from '../observability/logger.js';
import { type Readiness, startProbeServer } from '../observability/probe-server.js';
import { createKeyPool } from '../pki/key-pool.js';
import { CaManager } from './ca-manager.js';
import { type ControllerStats, RotatorController } from './controller.js';
import { createDriftReporter, type DriftSummary } from './drift-reporter.js';
import { LeaderElector } from './leader.js';
import { createLoop } from './loop.js';
import { createRotatorMetrics } from './metrics.js';
import { createPkiCertOps } from './pki-adapter.js';
import { runController } from './runner.js';
import { assembleSigner, type PodCertificateDeps } from './signer/assemble.js';
import { type Clock, sleepOn, systemClock, systemTimers, type Timers } from './time.js';

/** How often the CA Secret is re-read, so a `ca rotate` step reaches the controller. */
const CA_POLL_MS = 10_000;
/** While leading: the first drift report this long after gaining leadership, then one every DRIFT_EVERY_MS. */
const DRIFT_FIRST_MS = 30_000;
const DRIFT_EVERY_MS = 120_000;
/** A drift report this soon after a namespace opts in. */
const DRIFT_AFTER_OPT_IN_MS = 10_000;

/** The outside world the rotator runs against; production passes the real API and Node's clock. */
export interface RotatorDeps {
  readonly secrets: SecretApi;
  readonly leases: LeaseApi;
  readonly events: EventRecorder;
  readonly webhookConfig: WebhookConfigApi;
  /** Pods and ReplicaSets of one namespace, read by the drift report. */
  readonly workloads: Pick<WorkloadApi, 'listPods' | 'listReplicaSets'>;
  readonly watches: ClusterWatches;
  /** Leader-election identity (the pod name). */
  readonly identity: string;
  readonly log: Log;
  /** Address of the probe and metrics server (port: `rotator.probePort`; 0 picks a free one). */
  readonly probeHost: string;
  /** Automatic onboarding (`rotator.onboardingAuto`): told each namespace that opts in while this replica leads. */
  readonly onboarder?: { enqueue(namespace: string): void } | undefined;
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

/**
 * Assembles and starts the rotator, the one place its parts are wired:
 *   - the CA manager, read first and re-read every CA_POLL_MS (nothing is issued without a CA);
 *   - the controller (cache, one sync per work item, the Secret writer, the reporter) and its runner;
 *   - four watches (managed pods and Secrets, Services, Namespaces) feeding the controller's cache, and with
 *     Pod Certificates a fifth (the PodCertificateRequests of our signer) feeding the signer;
 *   - leader election; while leading, the controller drains its queue and the drift report runs;
 *   - the probe server: /readyz is ready once the CA is loaded and the pod, Secret and Service watches have
 *     synced.
 * Resolves once the watches have listed and leader election has started.
 */
export async function startRotator(config: Config, deps: RotatorDeps): Promise<RunningRotator> {
  const { log } = deps;
  const clock = deps.clock ?? systemClock;
  const timers = deps.timers ?? systemTimers;
  const sleep = deps.sleep ?? sleepOn(timers);
  const random = deps.random ?? Math.random;
  const excluded = excludedNamespaces(config);

  const caManager = new CaManager({ config, secrets: deps.secrets, clock });
  const keyPool = createKeyPool({ algorithm: config.keyAlgorithm });
  const certs = createPkiCertOps({ config, caManager, keyPool, clock });
  const elector = new LeaderElector({
    api: deps.leases,
    namespace: config.installNamespace,
    name: config.rotator.leaseName,
    identity: deps.identity,
    leaseDurationSeconds: config.rotator.leaseDuration,
    renewDeadlineSeconds: config.rotator.renewDeadline,
    retryPeriodSeconds: config.rotator.retryPeriod,
    clock,
    timers,
    log,
  });

  const registry = new Registry();
  let drift: DriftSummary = { driftedPods: 0, lostOptInPods: 0 };
  const controller = new RotatorController({
    config,
    secrets: deps.secrets,
    events: deps.events,
    certs,
    leadership: elector,
    clock,
    random,
    sleep,
    counters: {
      issued: (kind) => metrics.issued.inc({ kind }),
      failed: (reason) => metrics.failures.inc({ reason }),
      foreign: () => metrics.foreignSecrets.inc(),
      denied: (reason) => metrics.podCertificateDenials.inc({ reason }),
    },
    log,
    webhookConfig: deps.webhookConfig,
  });
  const metrics = createRotatorMetrics(registry, () => {
    const s = controller.stats();
    return {
      queueDepth: s.queueDepth,
      managed: s.managed,
      soonestExpiry: s.soonestExpiry,
      lowLife: s.lowLife,
      caExpiry: (caManager.current()?.active.notAfter.getTime() ?? 0) / 1000,
      leader: elector.isLeader(),
      driftPods: drift.driftedPods,
      lostOptInPods: drift.lostOptInPods,
    };
  });
  // Pod Certificates: the facts for the webhook, and where served the signer and its trust bundle.
  const namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
  let namespacesListed = false;
  const signer =
    deps.podCertificates === undefined
      ? undefined
      : assembleSigner({
          config,
          deps: deps.podCertificates,
          controller,
          certs,
          clock,
          random,
          identity: deps.identity,
          log,
          excludedNamespaces: excluded,
          namespaceLabels,
          namespacesSynced: () => namespacesListed,
          ca: () => caManager.current(),
          writeWindowMs: () => (elector.isLeader() ? Number.POSITIVE_INFINITY : 0),
        });
  const runner = runController(controller, clock, timers, (err) =>
    log.error({ error: String(err) }, 'controller pass failed'),
  );

  // The CA first: nothing can be issued without it. Retried until it loads (faults E1: bring-your-own CA
  // not there yet).
  const pollCa = async (): Promise<void> => {
    try {
      if (await caManager.refresh()) {
        const ca = caManager.current();
        log.info(
          { caNotAfter: ca?.active.notAfter.toISOString(), subjectKeyId: ca?.active.subjectKeyIdHex },
          'CA loaded',
        );
        controller.trustChanged();
        runner.kick();
      }
    } catch (err) {
      log.error({ error: err instanceof Error ? err.message : String(err) }, 'CA not usable; not issuing');
    }
  };
  const caLoop = createLoop(timers, CA_POLL_MS, pollCa);

  // Namespaces: their opt-in labels drive the drift report and, when enabled, automatic onboarding.
  const driftReporter = createDriftReporter({
    api: deps.workloads,
    namespaces: () => [...namespaceLabels].map(([name, labels]) => ({ name, labels })),
    managedPods: () => deps.watches.pods.list(),
    excludedNamespaces: excluded,
    events: deps.events,
    log,
  });
  const driftLoop = createLoop(timers, DRIFT_EVERY_MS, async () => {
    try {
      drift = await driftReporter.run();
    } catch (err) {
      log.warn({ error: String(err) }, 'drift report failed');
    }
  });
  const onNamespace = (ns: NamespaceObject): void => {
    const name = ns.metadata.name;
    if (name === undefined) return;
    const before = namespaceLabels.get(name);
    const after = ns.metadata.labels ?? {};
    namespaceLabels.set(name, after);
    signer?.namespaceChanged(name, after);
    if (before === undefined || !gainedOptIn(before, after) || excluded.includes(name)) return;
    log.info({ namespace: name }, 'namespace opted in');
    if (elector.isLeader()) deps.onboarder?.enqueue(name);
    driftLoop.runSoon(DRIFT_AFTER_OPT_IN_MS);
  };

  elector.onChange((leading) => {
    log.info({ identity: deps.identity, leading }, leading ? 'became leader' : 'not leading');
    if (leading) driftLoop.start(DRIFT_FIRST_MS);
    else driftLoop.stop();
    runner.kick();
  });

  const unsynced = new Set(['pods', 'secrets', 'services']);
  if (signer?.watch !== undefined) unsynced.add('podcertificaterequests');
  const feed = <T>(name: string, upsert: (o: T) => void, remove: (o: T) => void): WatchHandlers<T> => ({
    upsert: (o) => {
      upsert(o);
      runner.kick();
    },
    remove: (o) => {
      remove(o);
      runner.kick();
    },
    synced: () => {
      unsynced.delete(name);
      runner.kick();
    },
    error: (err) => {
      unsynced.add(name);
      log.warn({ watch: name, error: String(err) }, 'watch failed; re-listing with backoff');
    },
  });
  const readiness = (): Readiness => {
    if (caManager.current() === undefined)
      return { ready: false, reason: caManager.notReadyReason() ?? 'CA not loaded yet' };
    if (unsynced.size > 0) return { ready: false, reason: `watches not synced: ${[...unsynced].join(', ')}` };
    return { ready: true };
  };

  const probes = await startProbeServer({
    host: deps.probeHost,
    port: config.rotator.probePort,
    registry,
    readiness,
  });
  log.info(
    { identity: deps.identity, probePort: probes.port, trustDomain: config.trustDomain },
    'rotator starting',
  );

  await pollCa();
  caLoop.start(CA_POLL_MS);
  const { watches } = deps;
  await Promise.all([
    watches.namespaces.start({
      upsert: onNamespace,
      remove: (ns) => namespaceLabels.delete(ns.metadata.name ?? ''),
      synced: () => {
        namespacesListed = true;
        runner.kick();
      },
      error: (err) =>
        log.warn({ watch: 'namespaces', error: String(err) }, 'watch failed; re-listing with backoff'),
    }),
    watches.pods.start(
      feed(
        'pods',
        (p) => {
          controller.upsertPod(p);
          signer?.upsertPod(p);
        },
        (p) => {
          controller.removePod(p);
          signer?.removePod(p);
        },
      ),
    ),
    ...(signer?.watch === undefined
      ? []
      : [
          signer.watch.start(
            feed(
              'podcertificaterequests',
              (r) => signer.upsertRequest(r),
              (r) => signer.removeRequest(r),
            ),
          ),
        ]),
    watches.secrets.start(
      feed(
        'secrets',
        (s) => controller.upsertSecret(s),
        (s) => controller.removeSecret(s),
      ),
    ),
    watches.services.start(
      feed(
        'services',
        (s) => controller.upsertService(s),
        (s) => controller.removeService(s),
      ),
    ),
  ]);
  elector.start();

  return {
    probePort: probes.port,
    registry,
    readiness,
    isLeader: () => elector.isLeader(),
    stats: () => controller.stats(),
    async stop() {
      log.info({ identity: deps.identity }, 'shutting down');
      caLoop.stop();
      driftLoop.stop();
      watches.namespaces.stop();
      watches.pods.stop();
      watches.secrets.stop();
      watches.services.stop();
      signer?.watch?.stop();
      await runner.stop();
      await elector.stop();
      await keyPool.close();
      await probes.close();
    },
  };
}
