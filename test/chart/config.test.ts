import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { afterAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/loader.js';
import { type Config, FIELDS } from '../../src/config/schema.js';
import { find, describeWithHelm, NAMESPACE, ofKind, render, VALUE_SETS } from './helm.js';

const dir = mkdtempSync(join(tmpdir(), 'chart-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The rendered config file, loaded by the product's own loader (so the chart cannot drift from the schema). */
function renderedConfig(extra: readonly string[] = []): { text: string; config: Config } {
  const configMaps = ofKind(render(extra), 'ConfigMap') as unknown as IConfigMap[];
  const [cm, ...more] = configMaps.filter((c) => c.metadata?.name?.endsWith('-config'));
  expect(more).toEqual([]);
  const text = cm?.data?.['config.yaml'] ?? '';
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return { text, config: loadConfig({ file }) };
}

function flatKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    v !== null && typeof v === 'object'
      ? flatKeys(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

describeWithHelm('chart config file', () => {
  it.each(Object.entries(VALUE_SETS))('is accepted by the product config loader (%s)', (_name, set) => {
    expect(() => renderedConfig(set)).not.toThrow();
  });

  it('sets every setting the schema has, and nothing else', () => {
    const { text } = renderedConfig();
    expect(flatKeys(parse(text) as Record<string, unknown>).sort()).toEqual(FIELDS.map((f) => f.key).sort());
  });

  it('equals the product defaults, except what the release decides', () => {
    const { config } = renderedConfig(['--namespace', 'security']);
    const defaults = loadConfig({});
    expect(config).toEqual({
      ...defaults,
      installNamespace: 'security',
      webhook: { ...defaults.webhook, serviceName: 'mtls-injector-webhook' },
    });
  });

  it('carries values through to the product settings', () => {
    const { config } = renderedConfig([
      '--set', 'trustDomain=example.org',
      '--set', 'keyAlgorithm=rsa-2048',
      '--set', 'leafLifetime=12h',
      '--set', 'renewAt=0.6',
      '--set', 'ca.bringYourOwn=true',
      '--set', 'webhook.failOpen=true',
      '--set', 'webhook.port=8443',
      '--set', 'rotator.writeQps=2.5',
      '--set', 'rotator.onboardingAuto=true',
      '--set', 'image.tag=1.2.3',
      '--set', 'init.enabled=false',
      '--set', 'fullnameOverride=mi',
      '--set', 'webhook.extraDnsNames={webhook.example.internal,localhost}',
    ]); // prettier-ignore
    expect(config).toMatchObject({
      trustDomain: 'example.org',
      keyAlgorithm: 'rsa-2048',
      leafLifetime: 12 * 3600,
      renewAt: 0.6,
      ca: { bringYourOwn: true },
      webhook: {
        failOpen: true,
        port: 8443,
        serviceName: 'mi-webhook',
        extraDnsNames: 'webhook.example.internal,localhost',
      },
      init: { enabled: false, image: 'ghcr.io/mtls-injector/mtls-init:1.2.3' },
      rotator: { writeQps: 2.5, onboardingAuto: true },
    });
    expect(config.installNamespace).toBe(NAMESPACE);
  });

  it('gives mtls-init its own image: init.image if set, else init.repository with the product tag', () => {
    const initImage = (extra: readonly string[]): string => renderedConfig(extra).config.init.image;
    expect(initImage([])).toBe('ghcr.io/mtls-injector/mtls-init:0.1.0');
    expect(initImage(['--set', 'image.tag=1.2.3'])).toBe('ghcr.io/mtls-injector/mtls-init:1.2.3');
    const mirror = ['--set', 'init.repository=registry.example.com/mtls/mtls-init', '--set', 'image.tag=1.2.3']; // prettier-ignore
    expect(initImage(mirror)).toBe('registry.example.com/mtls/mtls-init:1.2.3');
    // image.digest pins the product image only; init.image pins mtls-init's, and wins over init.repository.
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(initImage(['--set', `image.digest=${digest}`])).toBe('ghcr.io/mtls-injector/mtls-init:0.1.0');
    const pinned = `registry.example.com/mtls/mtls-init@${digest}`;
    expect(initImage([...mirror, '--set', `init.image=${pinned}`])).toBe(pinned);
  });

  it('is what both Deployments read, from the mounted ConfigMap', () => {
    for (const name of ['mtls-injector-webhook', 'mtls-injector-rotator']) {
      const spec = find<IDeployment>(render(), 'Deployment', name).spec?.template.spec;
      const c = spec?.containers[0];
      expect(c?.env?.[0]).toEqual({
        name: 'MTLS_INJECTOR_CONFIG',
        value: '/etc/mtls-injector/config/config.yaml',
      });
      // Per-pod env only: every other setting comes from the shared file.
      expect(c?.env?.slice(1)).toEqual(
        name === 'mtls-injector-rotator'
          ? [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]
          : [],
      );
      expect(c?.volumeMounts?.find((m) => m.name === 'config')).toEqual({
        name: 'config',
        mountPath: '/etc/mtls-injector/config',
        readOnly: true,
      });
      expect(spec?.volumes?.find((v) => v.name === 'config')?.configMap?.name).toBe('mtls-injector-config');
    }
  });
});
