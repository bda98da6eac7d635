import { type Command, Option } from 'commander';
import { parseDurationSeconds } from '../config/duration.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { excludedNamespaces, injectionSettings } from '../config/injection.js';
import { CA_MIN_VALID_DAYS } from '../check/ca.js';
import { renderCheck, renderCheckJson } from '../check/render.js';
import { checkExitCode, runCheck } from '../check/run.js';
import { createConfigMapApi } from '../kube/configmaps.js';
import { createPodCertificateRequestApi, discoverCertificateApis } from '../kube/pod-certificates.js';
import { createSecretApi } from '../kube/secrets.js';
import { createWorkloadApi } from '../kube/workloads.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions } from './config-options.js';
import { configFromInstallation } from './installation.js';

const KEYS = [
  'trustDomain',
  'installNamespace',
  'ca.secretName',
  'ca.trustBundleConfigMap',
  'webhook.configurationName',
  'webhook.tlsSecretName',
  'delivery.mode',
  'delivery.factsConfigMap',
  'podCertificate.signerName',
] as const;

/**
 * `mtls-injector check [-n NS] [--pod NAME]`: like `linkerd check`. The webhook configuration, its caBundle
 * against the serving certificate, the webhook's endpoints and the CA; with -n every pod: why it was or was
 * not injected (the webhook's reason codes) and whether its Secret and certificate are healthy. Exit 0 when
 * everything passed, 1 on any error, 3 on warnings only.
 */
export const registerCheck: RegisterCommand = (program, ctx, done) => {
  const command: Command = program
    .command('check')
    .description(
      'Check the installation and, with -n, why each pod is or is not injected and whether its certificate is healthy',
    )
    .option('-n, --namespace <ns>', 'also check every pod of this namespace')
    .option('--pod <name>', 'check only this pod, in detail (namespace from -n, else the kubeconfig context)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--ca-min-valid <duration>', 'warn when the CA expires sooner than this', `${CA_MIN_VALID_DAYS}d`)
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)');
  addConfigOptions(command, KEYS, { installed: true });
  command.action(async () => {
    const opts = command.opts<{
      namespace?: string;
      pod?: string;
      output: 'text' | 'json';
      caMinValid: string;
      kubeconfig?: string;
    }>();
    const minValidSeconds = parseDurationSeconds(opts.caMinValid);
    if (minValidSeconds === undefined) {
      throw new InjectorError(
        ErrorCode.UsageInvalid,
        `--ca-min-valid ${JSON.stringify(opts.caMinValid)}; expected a duration such as 60d`,
      );
    }
    const { config, kc } = await configFromInstallation(command, KEYS, ctx);
    const namespace =
      opts.namespace ??
      (opts.pod === undefined
        ? undefined
        : (kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default'));
    const served = await discoverCertificateApis(kc).catch(() => undefined);
    const version = served?.podCertificateRequests;
    const requests = version === undefined ? undefined : createPodCertificateRequestApi(kc, version);
    const configMaps = createConfigMapApi(kc);
    const report = await runCheck(
      {
        inspect: createWorkloadApi(kc),
        secrets: createSecretApi(kc),
        configMaps,
        now: new Date(),
        podCertificates: {
          getConfigMap: (ns, name) => configMaps.get(ns, name),
          listRequests: requests === undefined ? undefined : (ns, signer) => requests.list(signer, ns),
        },
      },
      {
        installNamespace: config.installNamespace,
        webhookConfigurationName: config.webhook.configurationName,
        webhookTlsSecretName: config.webhook.tlsSecretName,
        caSecretName: config.ca.secretName,
        trustBundleConfigMap: config.ca.trustBundleConfigMap,
        caMinValidDays: minValidSeconds / 86_400,
        settings: injectionSettings(config),
        excludedNamespaces: excludedNamespaces(config),
        namespace,
        pod: opts.pod,
        deliveryFactsConfigMap: config.delivery.factsConfigMap,
      },
    );
    ctx.stdout.write(
      opts.output === 'json' ? renderCheckJson(report) : renderCheck(report, opts.pod !== undefined),
    );
    done(checkExitCode(report));
  });
};
