import { hostname } from 'node:os';
import {
  CoreV1Api,
  type V1Namespace,
  type V1Pod,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import type { Command } from 'commander';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { MANAGED_LABEL } from '../core/names.js';
import { loadKubeConfig } from '../kube/client.js';
import { createEventRecorder } from '../kube/events.js';
import { createLeaseApi } from '../kube/leases.js';
import { createSecretApi } from '../kube/secrets.js';
import type { PodObject, SecretObject, ServiceObject } from '../kube/types.js';
import { createWatchSource } from '../kube/watch.js';
import { createWebhookConfigApi } from '../kube/webhook-config.js';
import { createWorkloadApi } from '../kube/workloads.js';
import { excludedNamespaces, injectionSettings } from '../config/injection.js';
import { createAutoOnboarder } from '../onboard/auto.js';
import { gainedOptIn } from '../model/selection.js';
import { createDriftReporter, type DriftSummary } from '../rotator/drift-reporter.js';
import { createKeyPool } from '../pki/key-pool.js';
import { CaManager } from '../rotator/ca-manager.js';
import { RotatorController } from '../rotator/controller.js';
import { LeaderElector } from '../rotator/leader.js';
import { createRotatorMetrics } from '../rotator/metrics.js';
import { createPkiCertOps } from '../rotator/pki-adapter.js';
import { startProbeServer } from '../rotator/probes.js';
import { runController } from '../rotator/runner.js';
import { createWebhookCertStep } from '../rotator/webhook-cert.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions } from './config-options.js';
import { ExitCode } from './context.js';

const KEYS = [
  'trustDomain',
  'clusterDomain',
  'installNamespace',
  'keyAlgorithm',
  'leafLifetime',
  'backdate',
  'renewAt',
  'renewJitter',
  'ca.keyAlgorithm',
  'ca.lifetime',
  'ca.secretName',
  'ca.bringYourOwn',
  'log.level',
  'webhook.serviceName',
  'webhook.extraDnsNames',
  'webhook.tlsSecretName',
  'webhook.configurationName',
  'rotator.probePort',
  'rotator.leaseName',
  'rotator.leaseDuration',
  'rotator.renewDeadline',
  'rotator.retryPeriod',
  'rotator.writeQps',
  'rotator.writeBurst',
  'rotator.onboardingAuto',
] as const;

/** How often the CA Secret is re-read, so a `ca rotate` step reaches the controller. */
const CA_POLL_MS = 10_000;
/** How often the leader reports drift (pods in opted-in namespaces without an identity). */
const DRIFT_EVERY_MS = 120_000;

/** `mtls-injector rotator`: issues, renews and rotates; one leader by Lease. Runs until SIGTERM. */
export const registerRotator: RegisterCommand = (program, ctx, done) => {
  const command: Command = program
    .command('rotator')
    .description(
      'Issue each managed pod its certificate Secret, renew it, and keep the CA and webhook certificate fresh',
    )
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--identity <name>', 'leader-election identity (default: $POD_NAME or the hostname)')
    .option('--probe-host <address>', 'address of the probe/metrics server', '0.0.0.0');
  addConfigOptions(command, KEYS);
  command.action(async () => {
    const config = configFromOptions(command, KEYS, ctx);
    const opts = command.opts<{ kubeconfig?: string; identity?: string; probeHost: string }>();
    const log = pino({ level: config.log.level, base: { component: 'rotator' } });
    const kc = loadKubeConfig(opts.kubeconfig ?? ctx.env['KUBECONFIG']);
    const core = kc.makeApiClient(CoreV1Api);
    const identity = opts.identity ?? ctx.env['POD_NAME'] ?? `${hostname()}-${process.pid}`;
    const clock = (): number => Date.now();
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const secrets = createSecretApi(kc);
    const events = createEventRecorder(kc, 'mtls-injector-rotator', (err) =>
      log.warn({ error: String(err) }, 'could not record an Event'),
    );

    const caManager = new CaManager({ config, secrets, clock });
    const keyPool = createKeyPool({ algorithm: config.keyAlgorithm });
    const certs = createPkiCertOps({ config, caManager, keyPool, clock });
    const elector = new LeaderElector({
      api: createLeaseApi(kc),
      namespace: config.installNamespace,
      name: config.rotator.leaseName,
      identity,
      leaseDurationSeconds: config.rotator.leaseDuration,
      renewDeadlineSeconds: config.rotator.renewDeadline,
      retryPeriodSeconds: config.rotator.retryPeriod,
      clock,
      log: (level, msg, fields) => log[level](fields ?? {}, msg),
    });

    const registry = new Registry();
    let drift: DriftSummary = { driftedPods: 0, lostOptInPods: 0 };
    const ref: { controller?: RotatorController } = {};
    const metrics = createRotatorMetrics(registry, () => {
      const s = ref.controller?.stats();
      return {
        queueDepth: s?.queueDepth ?? 0,
        managed: s?.managed ?? 0,
        soonestExpiry: s?.soonestExpiry ?? 0,
        lowLife: s?.lowLife ?? 0,
        caExpiry: (caManager.current()?.active.notAfter.getTime() ?? 0) / 1000,
        leader: elector.isLeader(),
        driftPods: drift.driftedPods,
        lostOptInPods: drift.lostOptInPods,
      };
    });
    const ctl = new RotatorController({
      config,
      secrets,
      events,
      certs,
      leadership: elector,
      clock,
      random: Math.random,
      sleep,
      counters: {
        issued: (kind) => metrics.issued.inc({ kind }),
        failed: (reason) => metrics.failures.inc({ reason }),
        foreign: () => metrics.foreignSecrets.inc(),
      },
      log,
    });
    ref.controller = ctl;
    const runner = runController(ctl, clock, (err) =>
      log.error({ error: String(err) }, 'controller pass failed'),
    );
    elector.onChange((leading) => {
      log.info({ identity, leading }, leading ? 'became leader' : 'not leading');
      runner.kick();
    });
    ctl.setWebhookStep(
      createWebhookCertStep({
        config,
        secrets,
        webhookConfig: createWebhookConfigApi(kc),
        certs,
        log,
        clock,
        isDue: () => ctl.webhookDue(),
        throttle: () => ctl.throttle(),
        written: (secret) => ctl.upsertSecret(secret, true),
      }),
    );

    const unsynced = new Set(['pods', 'secrets', 'services']);
    const watchHandlers = <T>(name: string, upsert: (o: T) => void, remove: (o: T) => void) => ({
      upsert: (o: T) => {
        upsert(o);
        runner.kick();
      },
      remove: (o: T) => {
        remove(o);
        runner.kick();
      },
      synced: () => {
        unsynced.delete(name);
        runner.kick();
      },
      error: (err: unknown) => {
        unsynced.add(name);
        log.warn({ watch: name, error: String(err) }, 'watch failed; re-listing with backoff');
      },
    });
    const selector = `${MANAGED_LABEL}=true`;
    const podWatch = createWatchSource<V1Pod>(
      kc,
      '/api/v1/pods',
      () => core.listPodForAllNamespaces({ labelSelector: selector }),
      selector,
    );
    const secretWatch = createWatchSource<V1Secret>(
      kc,
      '/api/v1/secrets',
      () => core.listSecretForAllNamespaces({ labelSelector: selector }),
      selector,
    );
    const serviceWatch = createWatchSource<V1Service>(kc, '/api/v1/services', () =>
      core.listServiceForAllNamespaces(),
    );

    // Namespaces: their opt-in labels drive the drift report and, when enabled, automatic onboarding.
    const workloads = createWorkloadApi(kc);
    const excluded = excludedNamespaces(config);
    const namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
    const onboarder = config.rotator.onboardingAuto
      ? createAutoOnboarder({
          api: workloads,
          clock,
          sleep,
          settings: injectionSettings(config),
          excludedNamespaces: excluded,
          log,
          signal: ctx.signal,
          onWorkload: (namespace, report) =>
            log.info(
              { namespace, workload: `${report.kind}/${report.name}`, outcome: report.outcome },
              'auto onboarding',
            ),
        })
      : undefined;
    const reporter = createDriftReporter({
      api: workloads,
      namespaces: () => [...namespaceLabels].map(([name, labels]) => ({ name, labels })),
      managedPods: () => podWatch.list() as unknown as PodObject[],
      excludedNamespaces: excluded,
      events,
      log,
    });
    let driftTimer: NodeJS.Timeout | undefined;
    const reportDrift = (delayMs: number): void => {
      if (driftTimer !== undefined) clearTimeout(driftTimer);
      driftTimer = setTimeout(() => {
        const next = (): void => {
          if (!ctx.signal.aborted) reportDrift(DRIFT_EVERY_MS);
        };
        if (!elector.isLeader()) return next();
        reporter.run().then(
          (summary) => {
            drift = summary;
            next();
          },
          (err: unknown) => {
            log.warn({ error: String(err) }, 'drift report failed');
            next();
          },
        );
      }, delayMs);
    };
    const namespaceWatch = createWatchSource<V1Namespace>(kc, '/api/v1/namespaces', () =>
      core.listNamespace(),
    );
    const onNamespace = (ns: V1Namespace): void => {
      const name = ns.metadata?.name;
      if (name === undefined) return;
      const before = namespaceLabels.get(name);
      const after = ns.metadata?.labels ?? {};
      namespaceLabels.set(name, after);
      if (before === undefined || !gainedOptIn(before, after) || excluded.includes(name)) return;
      log.info({ namespace: name }, 'namespace opted in');
      if (onboarder !== undefined && elector.isLeader()) onboarder.enqueue(name);
      reportDrift(10_000);
    };

    const probes = await startProbeServer({
      host: opts.probeHost,
      port: config.rotator.probePort,
      registry,
      readiness: () => {
        const caProblem =
          caManager.current() === undefined ? (caManager.notReadyReason() ?? 'CA not loaded yet') : undefined;
        if (caProblem !== undefined) return { ready: false, reason: caProblem };
        if (unsynced.size > 0)
          return { ready: false, reason: `watches not synced: ${[...unsynced].join(', ')}` };
        return { ready: true };
      },
    });
    log.info({ identity, probePort: probes.port, trustDomain: config.trustDomain }, 'rotator starting');

    // The CA first: nothing can be issued without it. Retries until it loads (E1: bring-your-own not there yet).
    let caTimer: NodeJS.Timeout | undefined;
    const pollCa = async (): Promise<void> => {
      try {
        if (await caManager.refresh()) {
          const ca = caManager.current();
          log.info(
            { caNotAfter: ca?.active.notAfter.toISOString(), subjectKeyId: ca?.active.subjectKeyIdHex },
            'CA loaded',
          );
          ctl.trustChanged();
          runner.kick();
        }
      } catch (err) {
        log.error({ error: err instanceof Error ? err.message : String(err) }, 'CA not usable; not issuing');
      }
      if (!ctx.signal.aborted) caTimer = setTimeout(() => void pollCa(), CA_POLL_MS);
    };
    await pollCa();

    await Promise.all([
      namespaceWatch.start({
        upsert: onNamespace,
        remove: (ns) => namespaceLabels.delete(ns.metadata?.name ?? ''),
        error: (err) =>
          log.warn({ watch: 'namespaces', error: String(err) }, 'watch failed; re-listing with backoff'),
      }),
      podWatch.start(
        watchHandlers<V1Pod>(
          'pods',
          (p) => ctl.upsertPod(p as unknown as PodObject),
          (p) => ctl.removePod(p as unknown as PodObject),
        ),
      ),
      secretWatch.start(
        watchHandlers<V1Secret>(
          'secrets',
          (s) => ctl.upsertSecret(s as SecretObject),
          (s) => ctl.removeSecret(s as SecretObject),
        ),
      ),
      serviceWatch.start(
        watchHandlers<V1Service>(
          'services',
          (s) => ctl.upsertService(s as unknown as ServiceObject),
          (s) => ctl.removeService(s as unknown as ServiceObject),
        ),
      ),
    ]);
    elector.start();
    reportDrift(30_000);

    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    log.info({ identity }, 'shutting down');
    if (caTimer !== undefined) clearTimeout(caTimer);
    if (driftTimer !== undefined) clearTimeout(driftTimer);
    namespaceWatch.stop();
    podWatch.stop();
    secretWatch.stop();
    serviceWatch.stop();
    await runner.stop();
    await elector.stop();
    await keyPool.close();
    await probes.close();
    done(ExitCode.Ok);
  });
};
