import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { parseDurationSeconds } from './duration.js';
import { type Config, envName, FIELDS, type FieldSpec } from './schema.js';

/** Where settings come from; later sources win: defaults < installed < file < env < flags. */
export interface ConfigSources {
  /** Values from command-line flags, by dotted key (e.g. `webhook.port`). */
  readonly flags?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** The process environment (only `MTLS_INJECTOR_*` names are read). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Path of a YAML or JSON file with the same nested keys. */
  readonly file?: string | undefined;
  /**
   * The config file of an installation, already parsed (the CLI reads it from the chart's ConfigMap), and
   * where it came from for messages. Keys this version does not know are left out by the caller.
   */
  readonly installed?: { readonly values: Readonly<Record<string, unknown>>; readonly origin: string };
}

/** A loaded Config and, for every key, where its value came from ('default', 'flag', 'env NAME', …). */
export interface LoadedConfig {
  readonly config: Config;
  readonly origins: Readonly<Record<string, string>>;
}

/**
 * The YAML parser, loaded on the first config file read: mtls-init, which runs on every pod's start and reads
 * no file, never pays for loading it (docs/using-mtls.md, "Start-up time and the init container").
 */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

/** Env var naming the config file when `--config` is not given. */
const CONFIG_FILE_ENV = 'MTLS_INJECTOR_CONFIG';

type Raw = string | number | boolean;

/**
 * Builds the one validated, frozen Config. Every problem is collected and reported together in one
 * InjectorError (MTLS_ERR_CONFIG_INVALID) whose message names each setting, where it came from, and what
 * was expected.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  return loadConfigWithOrigins(sources).config;
}

/** Like loadConfig, and says where each setting's value came from. */
export function loadConfigWithOrigins(sources: ConfigSources = {}): LoadedConfig {
  const problems: string[] = [];
  const env = sources.env ?? {};
  const filePath = sources.file ?? env[CONFIG_FILE_ENV];
  const fileValues = filePath === undefined || filePath === '' ? {} : readConfigFile(filePath, problems);
  const known = new Set<string>(FIELDS.map((f) => f.key));

  for (const key of Object.keys(fileValues)) {
    if (!known.has(key))
      problems.push(`${key} (file ${filePath}): unknown setting; see docs/configuration.md`);
  }
  const envNames = new Set(FIELDS.map((f) => envName(f.key)));
  for (const name of Object.keys(env)) {
    if (name.startsWith('MTLS_INJECTOR_') && name !== CONFIG_FILE_ENV && !envNames.has(name)) {
      problems.push(`${name} (env): unknown setting; see docs/configuration.md`);
    }
  }

  const installed = sources.installed === undefined ? {} : flatten({ ...sources.installed.values });
  const out: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  for (const field of FIELDS) {
    const flag = sources.flags?.[field.key];
    const fromEnv = env[envName(field.key)];
    let raw: Raw = field.default;
    let origin = 'default';
    if (field.key in installed && sources.installed !== undefined)
      [raw, origin] = [installed[field.key] as Raw, sources.installed.origin];
    if (field.key in fileValues) [raw, origin] = [fileValues[field.key] as Raw, `file ${filePath}`];
    if (fromEnv !== undefined) [raw, origin] = [fromEnv, `env ${envName(field.key)}`];
    if (flag !== undefined) [raw, origin] = [flag, 'flag'];
    const value = coerce(field, raw);
    if (typeof value === 'string' && value.startsWith('\u0000')) {
      problems.push(`${field.key} (${origin}): ${value.slice(1)}`);
      continue;
    }
    setPath(out, field.key, value);
    origins[field.key] = origin;
  }

  // Config is derived from FIELDS and every field was just set to a value of its kind's type (test/config
  // checks each one), so the object built key by key is a Config.
  const config = out as Config;
  if (problems.length === 0) problems.push(...crossFieldProblems(config));
  if (problems.length > 0) {
    throw new InjectorError(
      ErrorCode.ConfigInvalid,
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
  }
  return { config: deepFreeze(config), origins };
}

function crossFieldProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.backdate >= config.leafLifetime) {
    problems.push(`backdate: ${config.backdate}s must be shorter than leafLifetime ${config.leafLifetime}s`);
  }
  if (config.renewAt + config.renewJitter >= 1 || config.renewAt - config.renewJitter <= 0) {
    problems.push(
      `renewAt ± renewJitter: ${config.renewAt} ± ${config.renewJitter} must stay inside (0, 1) of the lifetime`,
    );
  }
  // The latest a leaf is renewed must leave the kubelets time to deliver its successor into running pods
  // (they write a changed Secret only at their next sync of the pod), or pods serve an expired certificate.
  const margin = Math.floor(config.leafLifetime * (1 - config.renewAt - config.renewJitter));
  if (margin < config.ca.propagationDelay) {
    problems.push(
      `leafLifetime × (1 − renewAt − renewJitter) = ${margin}s must be at least ca.propagationDelay ` +
        `${config.ca.propagationDelay}s: a certificate renewed that late could expire in a running pod before ` +
        'the kubelet delivers its successor; lengthen leafLifetime, lower renewAt, or lower ca.propagationDelay ' +
        'only if your kubelets deliver Secret updates faster (their syncFrequency, 1m by default)',
    );
  }
  if (config.rotator.renewDeadline >= config.rotator.leaseDuration) {
    problems.push(
      `rotator.renewDeadline: ${config.rotator.renewDeadline}s must be shorter than rotator.leaseDuration ${config.rotator.leaseDuration}s`,
    );
  }
  if (config.rotator.retryPeriod >= config.rotator.renewDeadline) {
    problems.push(
      `rotator.retryPeriod: ${config.rotator.retryPeriod}s must be shorter than rotator.renewDeadline ${config.rotator.renewDeadline}s (the leader must get more than one try to renew)`,
    );
  }
  if (config.ca.nameConstraints && config.dnsShortNames) {
    problems.push(
      'ca.nameConstraints: cannot be combined with dnsShortNames (the short forms <svc> and <svc>.<ns> fall outside any constraint); turn one off',
    );
  }
  if (config.webhook.port === config.webhook.probePort) {
    problems.push(`webhook.probePort: ${config.webhook.probePort} must differ from webhook.port`);
  }
  return problems;
}

/** Returns the coerced value, or a string starting with NUL that carries the problem. */
function coerce(field: FieldSpec, raw: Raw): unknown {
  const kind = field.kind;
  const text = String(raw);
  switch (kind.type) {
    case 'string': {
      if (typeof raw !== 'string') return `\u0000expected a string, got ${JSON.stringify(raw)}`;
      if (kind.pattern !== undefined && !kind.pattern.test(raw)) {
        return `\u0000expected ${kind.hint ?? String(kind.pattern)}, got ${JSON.stringify(raw)}`;
      }
      return raw;
    }
    case 'integer': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
      if (!Number.isInteger(n) || n < kind.min || n > kind.max) {
        return `\u0000expected an integer from ${kind.min} to ${kind.max}, got ${JSON.stringify(raw)}`;
      }
      return n;
    }
    case 'fraction': {
      const n = typeof raw === 'number' ? raw : text.trim() === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(n) || n < kind.min || n > kind.max) {
        return `\u0000expected a number from ${kind.min} to ${kind.max}, got ${JSON.stringify(raw)}`;
      }
      return n;
    }
    case 'duration': {
      const seconds = typeof raw === 'number' ? raw : parseDurationSeconds(text);
      if (
        seconds === undefined ||
        !Number.isFinite(seconds) ||
        seconds < kind.minSeconds ||
        seconds > kind.maxSeconds
      ) {
        return `\u0000expected a duration such as 90s, 15m or 24h from ${kind.minSeconds}s to ${kind.maxSeconds}s, got ${JSON.stringify(raw)}`;
      }
      return seconds;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (/^(true|1|yes)$/i.test(text.trim())) return true;
      if (/^(false|0|no)$/i.test(text.trim())) return false;
      return `\u0000expected true or false, got ${JSON.stringify(raw)}`;
    }
    case 'enum': {
      if (!kind.values.includes(text))
        return `\u0000expected one of ${kind.values.join(', ')}, got ${JSON.stringify(raw)}`;
      return text;
    }
  }
}

function readConfigFile(path: string, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(
      `config file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path`,
    );
    return {};
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    problems.push(`config file ${path}: not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`);
    return {};
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    problems.push(
      `config file ${path}: expected a mapping of settings, got ${Array.isArray(doc) ? 'a list' : typeof doc}`,
    );
    return {};
  }
  return flatten(doc as Record<string, unknown>);
}

/** A nested settings document as dotted keys (`{ca: {lifetime: 1}}` → `{'ca.lifetime': 1}`). */
export function flatten(obj: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = v;
  }
  return out;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] ?? key] = value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
