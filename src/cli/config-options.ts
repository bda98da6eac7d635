import type { Command } from 'commander';
import { type ConfigSources, loadConfig } from '../config/loader.js';
import { type Config, FIELDS, flagName } from '../config/schema.js';
import type { CliContext } from './context.js';

/** The settings an injection depends on (`InjectionSettings`, from src/config/injection.ts), as flags of `webhook` and `inject`. */
export const INJECTION_KEYS = [
  'trustDomain',
  'installNamespace',
  'init.enabled',
  'init.image',
  'init.imagePullPolicy',
  'init.windowsImage',
  'init.waitTimeout',
  'delivery.mode',
  'podCertificate.signerName',
  'podCertificate.keyType',
  'podCertificate.maxExpiration',
  'podCertificate.trustBundle',
  'podCertificate.trustBundleConfigMap',
] as const;

/**
 * Adds a `--flag <value>` for each config key (named by `flagName`, described from the schema, default shown)
 * plus `--config FILE`. Flags left unset fall through to env, file and defaults; with `installed`, the
 * command reads the installation's settings first (src/cli/installation.ts) and the help says so.
 */
export function addConfigOptions(
  command: Command,
  keys: readonly string[],
  { installed = false }: { installed?: boolean } = {},
): Command {
  command.option('--config <file>', 'YAML or JSON config file (env MTLS_INJECTOR_CONFIG)');
  for (const key of keys) {
    const field = FIELDS.find((f) => f.key === key);
    if (field === undefined) throw new Error(`addConfigOptions: unknown config key ${key}`);
    const placeholder = field.kind.type === 'boolean' ? '[bool]' : '<value>';
    const fallback = String(field.default) === '' ? 'none' : String(field.default);
    const shown = installed ? `(default: the installation's, else ${fallback})` : `(default: ${fallback})`;
    command.option(`${flagName(key)} ${placeholder}`, `${field.description} ${shown}`);
  }
  return command;
}

/** Builds the validated Config from the flags `addConfigOptions` declared, the environment and the file. */
export function configFromOptions(command: Command, keys: readonly string[], ctx: CliContext): Config {
  return loadConfig(cliSources(command, keys, ctx));
}

/** The CLI's own config sources: the flags `addConfigOptions` declared, the environment, `--config`. */
export function cliSources(command: Command, keys: readonly string[], ctx: CliContext): ConfigSources {
  const opts = command.opts<Record<string, string | boolean | undefined>>();
  const flags: Record<string, string | boolean | undefined> = {};
  for (const key of keys) {
    const value = opts[optionAttribute(key)];
    if (value !== undefined) flags[key] = value;
  }
  const file = typeof opts['config'] === 'string' ? opts['config'] : undefined;
  return { flags, env: ctx.env, file };
}

/** commander's attribute name for a flag: `--webhook-tls-cert` → `webhookTlsCert`. */
function optionAttribute(key: string): string {
  return flagName(key)
    .slice(2)
    .replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
