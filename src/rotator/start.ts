/**
 * Over 300 lines: startRotator is the one place the rotator is assembled (docs/design.md, "The rotator"); its
 * wiring of watches, loops, leadership and readiness reads as one story and would only scatter if split.
 */
import { Registry } from 'prom-client';
import { excludedNamespaces } from '../config/injection.js';
import type { Config } from '../config/schema.js';
import { type Readiness, startProbeServer } from '../observability/probe-server.js';
import { createKeyPool } from '../pki/key-pool.js';
import { CaManager } from './ca-manager.js';
import { createCaPoll } from './ca-poll.js';
import { createRotatorRevocation } from './revocation.js';
import { RotatorController } from './controller.js';
import { createDriftReporter, type DriftSummary } from './drift-reporter.js';
import { LeaderElector, type Leadership } from './leader.js';
import { createLoop } from './loop.js';
import { createRotatorMetrics } from './metrics.js';
import { NamespaceLabels } from './namespaces.js';
import { createPkiCertOps } from './pki-adapter.js';
import { runController } from './runner.js';
import { assembleSigner, requestWatch, type SignerPart } from './signer/assemble.js';
import { createTrustBundlePublisher } from './trust-bundle.js';
import { sleepOn, systemClock, systemTimers } from './time.js';
import { WatchSync } from './watch-sync.js';

/** How often the CA Secret is re-read, so a `ca rotate` step reaches the controller. */
const CA_POLL_MS = 10_000;
/** While leading: the first drift report DRIFT_FIRST_MS after gaining leadership, then one every DRIFT_EVERY_MS;
 * one DRIFT_AFTER_OPT_IN_MS after a namespace opts in. */
const [DRIFT_FIRST_MS, DRIFT_EVERY_MS, DRIFT_AFTER_OPT_IN_MS] = [30_000, 120_000, 10_000];
/** The name of the PodCertificateRequest watch in readiness ("watches not synced: …"). */
const PCR_WATCH = 'podcertificaterequests';

import type { RotatorDeps, RunningRotator } from './rotator-deps.js';

export type { RotatorDeps, RunningRotator } from './rotator-deps.js';

/**
 * Assembles and starts the rotator, the one place its parts are wired:
 *   - the CA manager, read once the watches have listed and every CA_POLL_MS after (nothing is issued
 *     without a CA; a lost CA Secret is reported, never silently regenerated);
 *   - the controller (cache, one sync per work item, the Secret writer, the reporter) and its runner;
 *   - four watches (managed pods and Secrets, Services, Namespaces) feeding the controller's cache, and with
 *     Pod Certificates a fifth (the PodCertificateRequests of our signer) feeding the signer, whose work runs
 *     on the controller's queue;
 *   - leader election; while leading (and only then) the controller drains its queue (Secrets, and the
 *     signer's answers and publications), the drift report runs and automatic onboarding restarts workloads;
 *   - the probe server: /readyz is ready once the CA is loaded and every watch has listed since its last
 *     failure.
 * Resolves once the watches have listed and leader election has started.
 */
export async function startRotator(config: Config, deps: RotatorDeps): Promise<RunningRotator> {
  const { log } = deps;
  const clock = deps.clock ?? systemClock;
  const timers = deps.timers ?? systemTimers;
  const sleep = deps.sleep ?? sleepOn(timers);
  const random = deps.random ?? Math.random;
  const excluded = excludedNamespaces(config);

  const keyPool = createKeyPool({ algorithm: config.keyAlgorithm });
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
  // Namespaces: their opt-in labels decide whether pods there may have an identity (re-checked on every sync),
  // and drive the drift report and automatic onboarding.
  const namespaces = new NamespaceLabels({
    excluded,
    changed: (name) => {
      controller.namespaceChanged(name);
      runner.kick();
    },
    optedIn: (name) => {
      log.info({ namespace: name }, 'namespace opted in');
      if (elector.isLeader()) deps.onboarder?.enqueue(name);
      driftLoop.runSoon(DRIFT_AFTER_OPT_IN_MS);
    },
  });
  // Nothing is issued before every watch has listed once: until then the caches (and the opt-in labels the
  // rotator judges by) are incomplete.
  const pcrWatch = requestWatch(config, deps.podCertificates);
  const sync = new WatchSync(
    ['pods', 'secrets', 'services', 'namespaces', ...(pcrWatch === undefined ? [] : [PCR_WATCH])],
    log,
    () => runner.kick(),
    () => void pollCa(), // a first install's CA is generated once the leader knows no workload Secret exists
  );
  const mayAct: Leadership = {
    isLeader: () => elector.isLeader() && sync.listedOnce(),
    validUntil: () => (sync.listedOnce() ? elector.validUntil() : 0),
    onChange: (listener) => elector.onChange(listener),
  };
  // The CA: generated by the leader only on a first install (no workload Secret exists), never after a loss.
  const caManager: CaManager = new CaManager({
    config,
    secrets: deps.secrets,
    clock,
    leadership: mayAct,
    // Pods holding a pod certificate of this CA count like workload Secrets (podCertificate delivery).
    workloadSecrets: () =>
      sync.listed('secrets') && sync.listed('pods')
        ? controller.stats().workloadSecrets + (signer?.holders() ?? 0)
        : undefined,
  });
  const certs = createPkiCertOps({ config, caManager, keyPool, clock });
  // Revocation: the leader follows the record, reissues what it revokes first, and publishes the CRLs.
  const revocation = createRotatorRevocation({
    config,
    configMaps: deps.configMaps,
    leadership: mayAct,
    clock,
    timers,
    log,
    signers: () => caManager.current()?.crlSigners,
    recordChanged: (pods) => {
      controller.trustChanged(pods);
      runner.kick();
    },
    crlChanged: () => {
      controller.trustChanged();
      signer?.crlChanged();
      runner.kick();
    },
    podsChanged: () => {
      signer?.revocationsChanged();
      runner.kick();
    },
  });
  const controller = new RotatorController({
    config,
    secrets: deps.secrets,
    events: deps.events,
    certs,
    leadership: mayAct,
    clock,
    random,
    sleep,
    counters: {
      issued: (kind) => metrics.issued.inc({ kind }),
      failed: (reason) => metrics.failures.inc({ reason }),
      foreign: () => metrics.foreignSecrets.inc(),
      denied: (reason) => metrics.podCertificateDenials.inc({ reason }),
      collision: () => metrics.secretCollisions.inc(),
    },
    log,
    webhookConfig: deps.webhookConfig,
    namespaceLabels: (name) => namespaces.get(name),
    getPod: (ns, name) => deps.pods.getPod(ns, name),
    revocation: {
      ...revocation.hooks,
      reissued: (seconds) => metrics.revokeToReissue.observe(seconds),
    },
  });
  const metrics = createRotatorMetrics(registry, () => {
    const s = controller.stats();
    return {
      ...s,
      caExpiry: (caManager.current()?.active.notAfter.getTime() ?? 0) / 1000,
      caLost: caManager.caLost() !== undefined,
      leader: elector.isLeader(),
      driftPods: drift.driftedPods,
      lostOptInPods: drift.lostOptInPods,
      revoked: revocation.revoked(),
      crlAge: revocation.crlAgeSeconds(),
    };
  });
  // Pod Certificates: the facts for the webhook, and where served the signer and its trust bundle. Its writes
  // run on the controller's queue (only the leader drains it) and each gets a deadline within the leadership.
  const signer: SignerPart | undefined =
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
          namespaces,
          namespacesSynced: () => sync.listed('namespaces'),
          ca: () => caManager.current(),
          writeWindowMs: () => (mayAct.isLeader() ? mayAct.validUntil() - clock() : 0),
          crl: () => revocation.hooks.crl()?.pem,
          revocations: revocation.source,
          events: deps.events,
        });
  const runner = runController(controller, clock, timers, (err) =>
    log.error({ error: String(err) }, 'controller pass failed'),
  );

  // Nothing can be issued without a CA: re-read every CA_POLL_MS on every replica, and at once on gaining
  // leadership (a first install's CA is generated then). Retried until it loads (faults E1).
  const pollCa = createCaPoll({
    config,
    caManager,
    leadership: elector,
    events: deps.events,
    log,
    changed: () => {
      controller.trustChanged();
      runner.kick();
    },
    publish: createTrustBundlePublisher({
      config,
      configMaps: deps.configMaps,
      leadership: mayAct,
      clock,
      log,
    }),
  });
  const caLoop = createLoop(timers, CA_POLL_MS, pollCa);

  const driftReporter = createDriftReporter({
    api: deps.workloads,
    namespaces: () => namespaces.all(),
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
  // Everything leader-gated starts and stops with leadership: the controller's queue (it checks on every
  // item, and every write ends before validUntil), the drift report, automatic onboarding, CA generation.
  elector.onChange((leading) => {
    log.info({ identity: deps.identity, leading }, leading ? 'became leader' : 'not leading');
    if (leading) {
      driftLoop.start(DRIFT_FIRST_MS);
      void pollCa();
      revocation.loop.runSoon(0);
    } else {
      driftLoop.stop();
      deps.onboarder?.cancel();
    }
    runner.kick();
  });

  const readiness = (): Readiness => {
    const lost = caManager.caLost();
    if (lost !== undefined) return { ready: false, reason: lost.message };
    const watching = sync.notReady();
    if (watching !== undefined) return { ready: false, reason: watching };
    if (caManager.current() === undefined)
      return { ready: false, reason: caManager.notReadyReason() ?? 'CA not loaded yet' };
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

  const { watches } = deps;
  await Promise.all([
    watches.namespaces.start(
      sync.feed(
        'namespaces',
        (ns) => {
          namespaces.upsert(ns);
          // A namespace opted in may need the signer's trust-bundle ConfigMap now.
          if (ns.metadata.name !== undefined)
            signer?.namespaceChanged(ns.metadata.name, ns.metadata.labels ?? {});
        },
        (ns) => namespaces.remove(ns),
      ),
    ),
    watches.pods.start(
      sync.feed(
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
    ...(pcrWatch === undefined || signer === undefined
      ? []
      : [
          pcrWatch.start(
            sync.feed(
              PCR_WATCH,
              (r) => signer.upsertRequest(r),
              (r) => signer.removeRequest(r),
            ),
          ),
        ]),
    watches.secrets.start(
      sync.feed(
        'secrets',
        (s) => controller.upsertSecret(s),
        (s) => controller.removeSecret(s),
      ),
    ),
    watches.services.start(
      sync.feed(
        'services',
        (s) => controller.upsertService(s),
        (s) => controller.removeService(s),
      ),
    ),
  ]);
  await pollCa();
  caLoop.start(CA_POLL_MS);
  revocation.loop.start(0);
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
      revocation.loop.stop();
      driftLoop.stop();
      for (const watch of [watches.namespaces, watches.pods, watches.secrets, watches.services]) watch.stop();
      pcrWatch?.stop();
      await runner.stop();
      await elector.stop();
      await keyPool.close();
      await probes.close();
    },
  };
}
