import type { Command } from 'commander';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { createLogger } from '../observability/logger.js';
import { startWebhookServer } from '../webhook/server.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions, INJECTION_KEYS } from './config-options.js';
import { ExitCode } from './context.js';

const KEYS = [
  'webhook.port',
  'webhook.probePort',
  'webhook.host',
  'webhook.tlsCert',
  'webhook.tlsKey',
  'webhook.bodyLimitBytes',
  'webhook.failOpen',
  'webhook.shutdownDelay',
  'webhook.deliveryFactsFile',
  ...INJECTION_KEYS,
  'log.level',
] as const;

/** Short flags the issue names, and the commander attribute of the config flag each stands for. */
const ALIASES = [
  ['port', 'webhookPort', '--webhook-port'],
  ['probePort', 'webhookProbePort', '--webhook-probe-port'],
  ['tlsCert', 'webhookTlsCert', '--webhook-tls-cert'],
  ['tlsKey', 'webhookTlsKey', '--webhook-tls-key'],
] as const;

/**
 * `mtls-injector webhook`: serves the admission webhook over HTTPS until SIGTERM/SIGINT, then stops accepting,
 * finishes in-flight reviews and exits 0. Settings come from flags > MTLS_INJECTOR_* env > --config file.
 */
export const registerWebhook: RegisterCommand = (program, ctx, done) => {
  const command: Command = program
    .command('webhook')
    .description(
      'Run the mutating admission webhook (HTTPS); /healthz, /readyz and /metrics on the plain-HTTP probe port',
    )
    .option('--port <port>', 'HTTPS port (same as --webhook-port)')
    .option('--probe-port <port>', 'probe and metrics port (same as --webhook-probe-port)')
    .option('--tls-cert <file>', 'serving certificate, PEM (same as --webhook-tls-cert)')
    .option('--tls-key <file>', 'serving key, PEM (same as --webhook-tls-key)');
  addConfigOptions(command, KEYS);
  command.action(async () => {
    for (const [alias, attribute, flag] of ALIASES) {
      const short = command.getOptionValue(alias) as string | undefined;
      const long = command.getOptionValue(attribute) as string | undefined;
      if (short === undefined) continue;
      if (long !== undefined && long !== short) {
        throw new InjectorError(
          ErrorCode.UsageInvalid,
          `--${alias.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${short} and ${flag} ${long} disagree; give one`,
        );
      }
      command.setOptionValue(attribute, short);
    }
    const config = configFromOptions(command, KEYS, ctx);
    const logger = createLogger({
      level: config.log.level,
      component: 'webhook',
      destination: ctx.stdout,
    });
    const webhook = await startWebhookServer(config, { logger });
    if (!ctx.signal.aborted) {
      await new Promise<void>((resolve) =>
        ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
    await webhook.close();
    done(ExitCode.Ok);
  });
};
