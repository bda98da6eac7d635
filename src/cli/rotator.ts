import { hostname } from 'node:os';
import type { Command } from 'commander';
import { excludedNamespaces, injectionSettings } from '../config/injection.js';
import { MANAGED_LABEL } from '../core/names.js';
import { loadKubeConfig } from '../kube/client.js';
import { createConfigMapApi } from '../kube/configmaps.js';
import { createPodEviction } from '../kube/eviction.js';
import { createEventRecorder } from '../kube/events.js';
import { createLeaseApi } from '../kube/leases.js';
import {
  createClusterTrustBundleApi,
  createPodCertificateRequestApi,
  discoverCertificateApis,
  watchPodCertificateRequests,
} from '../kube/pod-certificates.js';
import { createSecretApi } from '../kube/secrets.js';
import { createClusterWatches } from '../kube/watch.js';
import { createWebhookConfigApi } from '../kube/webhook-config.js';
import { createWorkloadApi } from '../kube/workloads.js';
import { createLogger } from '../observability/logger.js';
import { createAutoOnboarder } from '../onboard/auto.js';
import type { PodCertificateDeps } from '../rotator/signer/assemble.js';
import { startRotator } from '../rotator/start.js';
import { sleepOn, systemClock, systemTimers } from '../rotator/time.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions } from './config-options.js';
import { ExitCode } from './context.js';

const KEYS = [
  'trustDomain',
  'clusterDomain',
  'dnsShortNames',
  'installNamespace',
  'keyAlgorithm',
  'leafLifetime',
  'backdate',
  'renewAt',
  'renewJitter',
  'ca.keyAlgorithm',
  'ca.lifetime',
  'ca.secretName',
  'ca.nameConstraints',
  'ca.trustBundleConfigMap',
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
  'delivery.mode',
  'delivery.factsConfigMap',
  'podCertificate.signerName',
  'podCertificate.maxExpiration',
  'podCertificate.backdate',
  'podCertificate.refreshAt',
  'podCertificate.trustBundle',
  'podCertificate.trustBundleConfigMap',
] as const;

/**
 * `mtls-injector rotator`: issues, renews and rotates; one leader by Lease. Runs until SIGTERM. Parses the
 * flags, connects the real API (and, with rotator.onboardingAuto, the onboarder) and hands them to
 * startRotator, which assembles the rest.
 */
export const registerRotator: RegisterCommand = (program, ctx, done) => {
  const command: Command = program
    .command('rotator')
    .description(
      'Issue each managed pod its certificate Secret or sign its PodCertificateRequests, renew, and keep the CA and webhook certificate fresh',
    )
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--identity <name>', 'leader-election identity (default: $POD_NAME or the hostname)')
    .option('--probe-host <address>', 'address of the probe/metrics server', '0.0.0.0');
  addConfigOptions(command, KEYS);
  command.action(async () => {
    const config = configFromOptions(command, KEYS, ctx);
    const opts = command.opts<{ kubeconfig?: string; identity?: string; probeHost: string }>();
    const log = createLogger({ level: config.log.level, component: 'rotator', destination: ctx.stdout });
    const kc = loadKubeConfig(opts.kubeconfig ?? ctx.env['KUBECONFIG']);
    const workloads = createWorkloadApi(kc);
    const onboarder = config.rotator.onboardingAuto
      ? createAutoOnboarder({
          api: workloads,
          clock: systemClock,
          sleep: sleepOn(systemTimers),
          settings: injectionSettings(config),
          excludedNamespaces: excludedNamespaces(config),
          log,
          signal: ctx.signal,
          onWorkload: (namespace, report) =>
            log.info(
              { namespace, workload: `${report.kind}/${report.name}`, outcome: report.outcome },
              'auto onboarding',
            ),
        })
      : undefined;
    // Pod Certificates: what the API server serves decides the signer and the webhook's delivery.mode=auto.
    const served = await discoverCertificateApis(kc);
    // delivery.mode=secret signs nothing (and the chart grants no signer rights): no request watch.
    const pcrVersion = config.delivery.mode === 'secret' ? undefined : served.podCertificateRequests;
    log.info({ ...served }, 'certificates.k8s.io discovered');
    const configMaps = createConfigMapApi(kc);
    const podCertificates: PodCertificateDeps = {
      served,
      requests: pcrVersion === undefined ? undefined : createPodCertificateRequestApi(kc, pcrVersion),
      watch:
        pcrVersion === undefined
          ? undefined
          : watchPodCertificateRequests(kc, pcrVersion, config.podCertificate.signerName),
      clusterTrustBundles:
        pcrVersion === undefined || served.clusterTrustBundles === undefined
          ? undefined
          : createClusterTrustBundleApi(kc, served.clusterTrustBundles),
      configMaps,
      getPod: (namespace, name) => workloads.getPod(namespace, name),
      listPods: (namespace) =>
        namespace === undefined ? workloads.listPodsAllNamespaces('') : workloads.listPods(namespace),
      evictPod: createPodEviction(kc),
    };
    const rotator = await startRotator(config, {
      secrets: createSecretApi(kc),
      leases: createLeaseApi(kc),
      events: createEventRecorder(kc, 'mtls-injector-rotator', (err) =>
        log.warn({ error: String(err) }, 'could not record an Event'),
      ),
      webhookConfig: createWebhookConfigApi(kc),
      configMaps,
      workloads,
      pods: workloads,
      // delivery.mode=podCertificate gives no pod a Secret: the chart grants Secrets in this namespace only.
      watches: createClusterWatches(
        kc,
        `${MANAGED_LABEL}=true`,
        config.delivery.mode === 'podCertificate' ? config.installNamespace : undefined,
      ),
      identity: opts.identity ?? ctx.env['POD_NAME'] ?? `${hostname()}-${process.pid}`,
      log,
      probeHost: opts.probeHost,
      onboarder,
      podCertificates,
    });
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await rotator.stop();
    done(ExitCode.Ok);
  });
};
