import type { Command } from 'commander';
import { loadKubeConfig } from '../kube/client.js';
import { deleteWebhookConfiguration } from '../kube/webhook-config.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions } from './config-options.js';
import { ExitCode } from './context.js';

const KEYS = ['webhook.configurationName'] as const;

/**
 * `mtls-injector unregister`: deletes the MutatingWebhookConfiguration, so the API server stops calling the
 * webhook. The chart runs it as its pre-delete hook: Helm deletes Services before Deployments and webhook
 * configurations last, and with the configuration still there while the webhook's Service is gone, pod
 * creation in an opted-in namespace fails (failurePolicy Fail).
 */
export const registerUnregister: RegisterCommand = (program, ctx, done) => {
  const command: Command = program
    .command('unregister')
    .description(
      'Delete the MutatingWebhookConfiguration, so new pods are no longer sent to the webhook (the chart runs this first on helm uninstall)',
    )
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)');
  addConfigOptions(command, KEYS);
  command.action(async () => {
    const config = configFromOptions(command, KEYS, ctx);
    const opts = command.opts<{ kubeconfig?: string }>();
    const kc = loadKubeConfig(opts.kubeconfig ?? ctx.env['KUBECONFIG']);
    const name = config.webhook.configurationName;
    const deleted = await deleteWebhookConfiguration(kc, name);
    ctx.stdout.write(
      deleted
        ? `unregister: deleted MutatingWebhookConfiguration ${name}; new pods are no longer injected\n`
        : `unregister: MutatingWebhookConfiguration ${name} does not exist; nothing to do\n`,
    );
    done(ExitCode.Ok);
  });
};
