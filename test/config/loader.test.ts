import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import { type Config, envName, FIELDS, flagName } from '../../src/config/schema.js';
import { ErrorCode, InjectorError } from '../../src/core/errors.js';

function writeTemp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-config-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InjectorError);
    expect((err as InjectorError).code).toBe(ErrorCode.ConfigInvalid);
    return (err as InjectorError).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const config = loadConfig();
    expect(config.trustDomain).toBe('cluster.local');
    expect(config.keyAlgorithm).toBe('ecdsa-p256');
    expect(config.leafLifetime).toBe(24 * 3600);
    expect(config.backdate).toBe(60);
    expect(config.renewAt).toBe(0.5);
    expect(config.renewJitter).toBe(0.1);
    expect(config.ca.lifetime).toBe(10 * 365 * 24 * 3600);
    expect(config.webhook.bodyLimitBytes).toBe(6 * 1024 * 1024);
  });

  it('is frozen all the way down', () => {
    const config = loadConfig();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.webhook)).toBe(true);
  });

  it('layers flags over env over file over defaults', () => {
    const file = writeTemp(
      'c.yaml',
      'trustDomain: file.example\nleafLifetime: 2h\nwebhook:\n  port: 8443\n  probePort: 8080\n',
    );
    const env = { MTLS_INJECTOR_LEAF_LIFETIME: '3h', MTLS_INJECTOR_WEBHOOK_PORT: '9443' };
    const config = loadConfig({ file, env, flags: { 'webhook.port': '7443' } });
    expect(config.trustDomain).toBe('file.example');
    expect(config.leafLifetime).toBe(3 * 3600);
    expect(config.webhook.port).toBe(7443);
    expect(config.webhook.probePort).toBe(8080);
  });

  it('reads the file named by MTLS_INJECTOR_CONFIG', () => {
    const file = writeTemp('c.json', JSON.stringify({ trustDomain: 'json.example' }));
    expect(loadConfig({ env: { MTLS_INJECTOR_CONFIG: file } }).trustDomain).toBe('json.example');
  });

  it('reports every problem together, naming the setting, its origin and what was expected', () => {
    const message = problemsOf(() =>
      loadConfig({
        env: { MTLS_INJECTOR_KEY_ALGORITHM: 'dsa', MTLS_INJECTOR_TYPO: 'x' },
        flags: { 'webhook.port': '70000', leafLifetime: 'forever', trustDomain: 'Bad Domain' },
      }),
    );
    expect(message).toContain('5 problems');
    expect(message).toContain(
      'keyAlgorithm (env MTLS_INJECTOR_KEY_ALGORITHM): expected one of ecdsa-p256, rsa-2048, rsa-3072, ed25519, got "dsa"',
    );
    expect(message).toContain('webhook.port (flag): expected an integer from 1 to 65535, got "70000"');
    expect(message).toContain('leafLifetime (flag): expected a duration');
    expect(message).toContain('trustDomain (flag)');
    expect(message).toContain('MTLS_INJECTOR_TYPO (env): unknown setting');
  });

  it('rejects unknown keys and non-mappings in the file', () => {
    const file = writeTemp('c.yaml', 'webhok:\n  port: 1\n');
    expect(problemsOf(() => loadConfig({ file }))).toContain('webhok.port (file');
    const list = writeTemp('l.yaml', '- a\n- b\n');
    expect(problemsOf(() => loadConfig({ file: list }))).toContain(
      'expected a mapping of settings, got a list',
    );
    expect(problemsOf(() => loadConfig({ file: '/nonexistent/c.yaml' }))).toContain(
      'cannot be read (ENOENT)',
    );
  });

  it('checks settings against each other', () => {
    const message = problemsOf(() =>
      loadConfig({ flags: { leafLifetime: '60s', backdate: '120s', renewAt: '0.85', renewJitter: '0.2' } }),
    );
    expect(message).toContain('backdate: 120s must be shorter than leafLifetime 60s');
    expect(message).toContain('renewAt ± renewJitter');
    const election = problemsOf(() =>
      loadConfig({ flags: { 'rotator.renewDeadline': '5s', 'rotator.retryPeriod': '5s' } }),
    );
    expect(election).toContain('rotator.retryPeriod: 5s must be shorter than rotator.renewDeadline 5s');
  });

  it('refuses a renewal point that leaves the kubelets less than ca.propagationDelay to deliver', () => {
    // 10m × (1 − 0.5 − 0.1) = 240 s of life left at the latest renewal, under the default 5m delay.
    const message = problemsOf(() => loadConfig({ flags: { leafLifetime: '10m' } }));
    expect(message).toContain(
      'leafLifetime × (1 − renewAt − renewJitter) = 240s must be at least ca.propagationDelay 300s',
    );
    expect(message).toContain('the kubelet delivers its successor');
    // Each remedy the message names clears it.
    expect(loadConfig({ flags: { leafLifetime: '13m' } }).leafLifetime).toBe(780);
    expect(loadConfig({ flags: { leafLifetime: '10m', renewAt: '0.3' } }).renewAt).toBe(0.3);
    expect(
      loadConfig({ flags: { leafLifetime: '10m', 'ca.propagationDelay': '4m' } }).ca.propagationDelay,
    ).toBe(240);
  });

  it('accepts booleans and fractions as text', () => {
    const config = loadConfig({
      env: { MTLS_INJECTOR_CA_BRING_YOUR_OWN: 'yes', MTLS_INJECTOR_RENEW_AT: '0.6' },
    });
    expect(config.ca.bringYourOwn).toBe(true);
    expect(config.renewAt).toBe(0.6);
    expect(problemsOf(() => loadConfig({ env: { MTLS_INJECTOR_CA_BRING_YOUR_OWN: 'maybe' } }))).toContain(
      'expected true or false, got "maybe"',
    );
  });
});

describe('schema', () => {
  it('documents every field and derives env and flag names', () => {
    for (const field of FIELDS) expect(field.description.length).toBeGreaterThan(10);
    expect(envName('webhook.tlsCert')).toBe('MTLS_INJECTOR_WEBHOOK_TLS_CERT');
    expect(flagName('webhook.tlsCert')).toBe('--webhook-tls-cert');
    expect(flagName('trustDomain')).toBe('--trust-domain');
    expect(new Set(FIELDS.map((f) => envName(f.key))).size).toBe(FIELDS.length);
  });
});

describe('Config, derived from FIELDS', () => {
  it('holds exactly one value per field, of the type its kind gives', () => {
    const config = loadConfig() as unknown as Record<string, unknown>;
    const at = (key: string): unknown =>
      key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
    const leaves = (node: Record<string, unknown>, prefix = ''): string[] =>
      Object.entries(node).flatMap(([k, v]) =>
        v !== null && typeof v === 'object'
          ? leaves(v as Record<string, unknown>, `${prefix}${k}.`)
          : [`${prefix}${k}`],
      );
    expect(leaves(config).sort()).toEqual(FIELDS.map((f) => f.key).sort());
    for (const field of FIELDS) {
      const value = at(field.key);
      switch (field.kind.type) {
        case 'string':
          expect(typeof value, field.key).toBe('string');
          break;
        case 'enum':
          expect(field.kind.values, field.key).toContain(value);
          break;
        case 'boolean':
          expect(typeof value, field.key).toBe('boolean');
          break;
        case 'integer':
        case 'fraction':
        case 'duration':
          expect(Number.isFinite(value), field.key).toBe(true);
          break;
      }
    }
  });
});

// Compile-time: the derived type has the fields and value types the table gives (tsc fails otherwise).
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typeChecks: [
  Same<Config['rotator']['writeQps'], number>,
  Same<Config['init']['imagePullPolicy'], 'IfNotPresent' | 'Always' | 'Never'>,
  Same<Config['keyAlgorithm'], 'ecdsa-p256' | 'rsa-2048' | 'rsa-3072' | 'ed25519'>,
  Same<Config['ca']['bringYourOwn'], boolean>,
  Same<Config['delivery']['mode'], 'auto' | 'secret' | 'podCertificate'>,
  Same<
    keyof Config,
    | 'trustDomain'
    | 'clusterDomain'
    | 'dnsShortNames'
    | 'installNamespace'
    | 'keyAlgorithm'
    | 'leafLifetime'
    | 'backdate'
    | 'renewAt'
    | 'renewJitter'
    | 'delivery'
    | 'podCertificate'
    | 'ca'
    | 'log'
    | 'webhook'
    | 'init'
    | 'rotator'
  >,
] = [true, true, true, true, true, true];
void typeChecks;
