import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { flatten, loadConfig, loadConfigWithOrigins, type ConfigSources } from '../config/loader.js';
import { type Config, FIELDS, flagName } from '../config/schema.js';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { loadKubeConfig } from '../kube/client.js';
import {
  createInstallationLookup,
  type InstallationLookup,
  type InstalledConfigMap,
} from '../kube/installation.js';
import { apiStatus } from '../kube/types.js';

type KubeConfig = ReturnType<typeof loadKubeConfig>;
import { cliSources } from './config-options.js';
import type { CliContext } from './context.js';

/** The labels the chart puts on its config ConfigMap (charts/mtls-injector/templates/configmap.yaml). */
export const INSTALLATION_SELECTOR =
  'app.kubernetes.io/part-of=mtls-injector,app.kubernetes.io/component=config';

/** Where the CLI looks first when no namespace is named: the documented install namespace. */
export const DEFAULT_INSTALL_NAMESPACE = String(FIELDS.find((f) => f.key === 'installNamespace')?.default);

/** What discovery found: the installation's ConfigMap and how it was found, or why none was. */
export type Discovery =
  | { readonly found: true; readonly configMap: InstalledConfigMap; readonly how: string }
  | { readonly found: false; readonly why: string };

/**
 * Finds the installation like `linkerd check`: in `namespace` only when one was named (flag, env or --config);
 * else in the default install namespace, then in every namespace. Two installations where one is looked for
 * is a usage error naming them. A forbidden cluster-wide list is "not found", with the reason.
 */
export async function discoverInstallation(
  lookup: InstallationLookup,
  namespace: string | undefined,
): Promise<Discovery> {
  const one = (found: InstalledConfigMap[], where: string, how: string): Discovery | undefined => {
    if (found.length === 0) return undefined;
    const [first, ...rest] = found as [InstalledConfigMap, ...InstalledConfigMap[]];
    if (rest.length === 0) return { found: true, configMap: first, how };
    throw new InjectorError(
      ErrorCode.InstallAmbiguous,
      `${found.length} installations found ${where} (ConfigMaps ${found.map((c) => `${c.namespace}/${c.name}`).join(', ')}); ` +
        'name the one to use with --install-namespace, or pass --config',
    );
  };
  if (namespace !== undefined) {
    const found = await lookup.list(INSTALLATION_SELECTOR, namespace);
    return (
      one(found, `in namespace ${namespace}`, 'in the namespace named') ?? {
        found: false,
        why: `no ConfigMap labelled ${INSTALLATION_SELECTOR} in namespace ${namespace}`,
      }
    );
  }
  const inDefault = one(
    await lookup.list(INSTALLATION_SELECTOR, DEFAULT_INSTALL_NAMESPACE),
    `in namespace ${DEFAULT_INSTALL_NAMESPACE}`,
    'in the default namespace',
  );
  if (inDefault !== undefined) return inDefault;
  let everywhere: InstalledConfigMap[];
  try {
    everywhere = await lookup.list(INSTALLATION_SELECTOR, undefined);
  } catch (err) {
    if (apiStatus(err) !== 403) throw err;
    return {
      found: false,
      why: `none in namespace ${DEFAULT_INSTALL_NAMESPACE}, and listing ConfigMaps in all namespaces is forbidden (HTTP 403)`,
    };
  }
  return (
    one(everywhere, 'in all namespaces', 'by its labels') ?? {
      found: false,
      why: `no ConfigMap labelled ${INSTALLATION_SELECTOR} in any namespace`,
    }
  );
}

/** The Config a command runs with, and the notes to print about where it came from. */
export interface ResolvedConfig {
  readonly config: Config;
  readonly notes: readonly string[];
}

/**
 * Layers the CLI's own sources (flags > env > --config file) over the installation's config file (over the
 * defaults). Every setting the CLI's sources give a value the installation disagrees on is noted, with both
 * values and which one is used; without an installation the defaults `keys` fall back to are listed.
 */
export function resolveConfig(
  discovery: Discovery,
  sources: ConfigSources,
  keys: readonly string[],
  cliVersion: string,
): ResolvedConfig {
  const notes: string[] = [];
  if (!discovery.found) {
    const { config, origins } = loadConfigWithOrigins(sources);
    const defaults = keys.filter((k) => origins[k] === 'default').map((k) => `${k}=${show(k, config)}`);
    notes.push(
      `note: no mtls-injector installation found (${discovery.why}); ` +
        (defaults.length === 0
          ? 'using the flags given.'
          : `using the CLI's defaults: ${defaults.join(', ')}. Name the installation with --install-namespace, or pass --config.`),
    );
    return { config, notes };
  }
  const cm = discovery.configMap;
  const origin = `installation ConfigMap ${cm.namespace}/${cm.name}`;
  const values = parseInstalled(cm, origin);
  const known = new Set<string>(FIELDS.map((f) => f.key));
  const unknown = Object.keys(values).filter((k) => !known.has(k));
  const installed = {
    values: Object.fromEntries(Object.entries(values).filter(([k]) => known.has(k))),
    origin,
  };
  notes.push(
    `using the installation in namespace ${cm.namespace} (ConfigMap ${cm.name}${cm.version === undefined ? '' : `, version ${cm.version}`}), found ${discovery.how}`,
  );
  if (cm.version !== undefined && cm.version !== cliVersion) {
    notes.push(`note: the installation is version ${cm.version}, this CLI is ${cliVersion}`);
  }
  if (unknown.length > 0) {
    notes.push(`note: the installation sets ${unknown.join(', ')}, which this CLI does not know (ignored)`);
  }
  const { config, origins } = loadConfigWithOrigins({ ...sources, installed });
  let fromInstall: Config | undefined;
  try {
    fromInstall = loadConfig({ installed });
  } catch {
    fromInstall = undefined; // an installed value this CLI refuses: reported by the load above unless overridden
  }
  for (const field of FIELDS) {
    const from = origins[field.key] ?? 'default';
    if (from === 'default' || from === origin || !(field.key in installed.values)) continue;
    if (fromInstall === undefined) continue;
    const mine = show(field.key, config);
    const theirs = show(field.key, fromInstall);
    if (mine === theirs) continue;
    const given = from === 'flag' ? `${flagName(field.key)} ${mine}` : `${mine} (${from})`;
    notes.push(
      `warning: ${field.key}: ${given} differs from the installation's ${theirs} (${origin}); using ${mine}`,
    );
  }
  return { config, notes };
}

/** A setting's value as the notes show it (durations in seconds with their unit). */
function show(key: string, config: Config): string {
  let node: unknown = config;
  for (const part of key.split('.')) node = (node as Record<string, unknown>)[part];
  const field = FIELDS.find((f) => f.key === key);
  return field?.kind.type === 'duration' ? `${String(node)}s` : String(node);
}

function parseInstalled(cm: InstalledConfigMap, origin: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = cm.configYaml === undefined ? undefined : parseYaml(cm.configYaml);
  } catch {
    doc = null;
  }
  if (doc === null || doc === undefined || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new InjectorError(
      ErrorCode.ConfigInvalid,
      `${origin}: config.yaml is ${cm.configYaml === undefined ? 'missing' : 'not a YAML mapping of settings'}; ` +
        'expected the config file the chart renders: upgrade or reinstall the chart, or pass --config',
    );
  }
  return flatten(doc as Record<string, unknown>);
}

/**
 * The Config of a command that talks to the cluster, and its kubeconfig: loads `--kubeconfig`, finds the
 * installation, layers the command's flags, env and `--config` over its settings, and prints on stderr
 * where they came from and every disagreement.
 */
export async function configFromInstallation(
  command: Command,
  keys: readonly string[],
  ctx: CliContext,
  lookup: (kc: KubeConfig) => InstallationLookup = createInstallationLookup,
): Promise<{ config: Config; kc: KubeConfig }> {
  const sources = cliSources(command, keys, ctx);
  const own = loadConfigWithOrigins(sources); // flags, env and file alone: refused early when invalid
  const opts = command.opts<{ kubeconfig?: string }>();
  const kc = loadKubeConfig(opts.kubeconfig ?? ctx.env['KUBECONFIG']);
  const named = own.origins['installNamespace'] === 'default' ? undefined : own.config.installNamespace;
  const discovery = await discoverInstallation(lookup(kc), named);
  const { config, notes } = resolveConfig(discovery, sources, keys, ctx.version);
  for (const note of notes) ctx.stderr.write(`${note}\n`);
  return { config, kc };
}
