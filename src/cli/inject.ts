import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { injectManifests } from '../core/manifest/inject-manifests.js';
import { excludedNamespaces, injectionSettings } from '../config/injection.js';
import { randomSecretSuffix } from '../webhook/suffix.js';
import type { RegisterCommand } from './commands.js';
import { addConfigOptions, configFromOptions, INJECTION_KEYS } from './config-options.js';
import { ExitCode } from './context.js';

const KEYS = INJECTION_KEYS;

/**
 * `mtls-injector inject -f FILE|-`: adds the opt-in label to every pod (template) in the YAML, like
 * `linkerd inject`, and writes the YAML to stdout; `--render` instead applies the full patch the webhook would
 * (exit 1 when the webhook would deny an object). Notes go to stderr.
 */
export const registerInject: RegisterCommand = (program, ctx, done) => {
  const command: Command = program
    .command('inject')
    .description(
      'Add the mtls-injection=enabled label to the pods in Kubernetes YAML (or --render the full webhook patch)',
    )
    .requiredOption('-f, --filename <file>', 'YAML or JSON file, "-" for standard input')
    .option('--render', 'apply the whole patch the webhook would apply, for preview and review', false)
    .option('-n, --namespace <namespace>', 'namespace of objects that name none (with --render)', 'default');
  addConfigOptions(command, KEYS);
  command.action(async () => {
    const opts = command.opts<{ filename: string; render: boolean; namespace: string }>();
    const config = configFromOptions(command, KEYS, ctx);
    let text: string;
    try {
      text = opts.filename === '-' ? await ctx.readStdin() : await readFile(opts.filename, 'utf8');
    } catch (err) {
      throw new InjectorError(
        ErrorCode.IoFailed,
        `cannot read ${opts.filename} (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path`,
        { cause: err },
      );
    }
    const result = injectManifests(text, {
      render: opts.render,
      namespace: opts.namespace,
      settings: injectionSettings(config),
      excludedNamespaces: excludedNamespaces(config),
      secretSuffix: randomSecretSuffix,
    });
    ctx.stdout.write(result.output);
    for (const note of result.notes) ctx.stderr.write(`${note}\n`);
    done(result.denied > 0 ? ExitCode.Failure : ExitCode.Ok);
  });
};
