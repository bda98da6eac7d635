import { type Command, Option } from 'commander';
import { parseDurationSeconds } from '../config/duration.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { excludedNamespaces, injectionSettings } from '../config/injection.js';
import { createWorkloadApi } from '../kube/workloads.js';
import { renderFooter, renderHeader, renderOnboardJson, renderWorkload } from '../onboard/render.js';
import { onboardFailed, runOnboard } from '../onboard/run.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions } from './config-options.js';
import { configFromInstallation } from './installation.js';
import { type CliContext, ExitCode } from './context.js';

const KEYS = ['trustDomain', 'installNamespace'] as const;
const POLL_MS = 1000;

/**
 * `mtls-injector onboard -n NS`: restarts the Deployments, StatefulSets and DaemonSets in NS whose pods have
 * no identity yet, one at a time, like `kubectl rollout restart`, waiting for each rollout to make progress.
 * Exit 1 when refused (namespace not opted in) or a restart failed; a rollout still progressing at the
 * timeout is not a failure.
 */
export const registerOnboard: RegisterCommand = (program, ctx, done) => {
  const command: Command = program
    .command('onboard')
    .description(
      'Restart the workloads of an opted-in namespace whose pods are not injected yet, one at a time (like kubectl rollout restart)',
    )
    .requiredOption('-n, --namespace <ns>', 'namespace to onboard')
    .option('--dry-run', 'list what would be restarted and why; change nothing', false)
    .option(
      '--force',
      'run even though the namespace is not opted in (only pods labelled mtls-injection=enabled qualify)',
      false,
    )
    .option('--timeout <duration>', 'how long to wait for each rollout before moving on (e.g. 90s, 5m)', '5m')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)');
  addConfigOptions(command, KEYS, { installed: true });
  command.action(async () => {
    const opts = command.opts<{
      namespace: string;
      dryRun: boolean;
      force: boolean;
      timeout: string;
      output: 'text' | 'json';
      kubeconfig?: string;
    }>();
    const timeoutSeconds = parseDurationSeconds(opts.timeout);
    if (timeoutSeconds === undefined || timeoutSeconds <= 0) {
      throw new InjectorError(
        ErrorCode.UsageInvalid,
        `--timeout ${JSON.stringify(opts.timeout)}; expected a duration such as 90s or 5m`,
      );
    }
    const { config, kc } = await configFromInstallation(command, KEYS, ctx);
    const api = createWorkloadApi(kc);
    const text = opts.output === 'text';
    if (text) ctx.stdout.write(renderHeader(opts.namespace, opts.dryRun));
    const report = await runOnboard(
      {
        api,
        clock: Date.now,
        sleep: abortableSleep(ctx),
        signal: ctx.signal,
        progress: text ? (w) => ctx.stdout.write(renderWorkload(w)) : undefined,
      },
      {
        namespace: opts.namespace,
        dryRun: opts.dryRun,
        force: opts.force,
        timeoutMs: timeoutSeconds * 1000,
        pollMs: POLL_MS,
        settings: injectionSettings(config),
        excludedNamespaces: excludedNamespaces(config),
      },
    );
    ctx.stdout.write(text ? renderFooter(report) : renderOnboardJson(report));
    done(onboardFailed(report) ? ExitCode.Failure : ExitCode.Ok);
  });
};

/** setTimeout that resolves early when the command is interrupted (SIGINT/SIGTERM). */
function abortableSleep(ctx: CliContext): (ms: number) => Promise<void> {
  return (ms) =>
    new Promise((resolve) => {
      if (ctx.signal.aborted) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
}
