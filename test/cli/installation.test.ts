import { describe, expect, it } from 'vitest';
import { discoverInstallation, INSTALLATION_SELECTOR, resolveConfig } from '../../src/cli/installation.js';
import type { InstallationLookup, InstalledConfigMap } from '../../src/kube/installation.js';
import { apiError } from '../fakes/kube.js';

function configMap(namespace: string, yaml: string, name = 'mtls-injector-config'): InstalledConfigMap {
  return { namespace, name, version: '0.1.0', configYaml: yaml };
}

/** An API with these config ConfigMaps; `forbidAll` answers a cluster-wide list with 403, as RBAC may. */
function lookup(items: InstalledConfigMap[], forbidAll = false): InstallationLookup & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    list: (selector, namespace) => {
      calls.push(namespace ?? '*');
      expect(selector).toBe(INSTALLATION_SELECTOR);
      if (namespace === undefined && forbidAll) return Promise.reject(apiError(403, 'forbidden'));
      return Promise.resolve(items.filter((c) => namespace === undefined || c.namespace === namespace));
    },
  };
}

const INSTALLED = [
  'trustDomain: "prod.example.org"',
  'installNamespace: "security"',
  'ca:',
  '  propagationDelay: "5s"',
  '  secretName: "mtls-injector-ca"',
].join('\n');

describe('discoverInstallation', () => {
  it('looks in the default namespace, then by labels everywhere', async () => {
    const api = lookup([configMap('security', INSTALLED)]);
    const found = await discoverInstallation(api, undefined);
    expect(found).toMatchObject({ found: true, configMap: { namespace: 'security' } });
    expect(api.calls).toEqual(['mtls-injector', '*']);
  });

  it('looks only in the namespace named', async () => {
    const api = lookup([configMap('security', INSTALLED)]);
    const found = await discoverInstallation(api, 'other');
    expect(found).toMatchObject({ found: false });
    expect(found.found ? '' : found.why).toContain('in namespace other');
    expect(api.calls).toEqual(['other']);
  });

  it('refuses to pick one of two installations, naming both', async () => {
    const api = lookup([configMap('a', INSTALLED), configMap('b', INSTALLED)]);
    await expect(discoverInstallation(api, undefined)).rejects.toThrow(
      /2 installations found .*a\/mtls-injector-config, b\/mtls-injector-config.*--install-namespace/,
    );
  });

  it('says a forbidden cluster-wide list is why nothing was found', async () => {
    const found = await discoverInstallation(lookup([], true), undefined);
    expect(found.found ? '' : found.why).toMatch(/forbidden \(HTTP 403\)/);
  });
});

describe('resolveConfig', () => {
  const found = { found: true as const, configMap: configMap('security', INSTALLED), how: 'by its labels' };

  it("uses the installation's settings over the CLI's defaults", () => {
    const { config, notes } = resolveConfig(found, { env: {} }, ['trustDomain'], '0.1.0');
    expect(config.trustDomain).toBe('prod.example.org');
    expect(config.installNamespace).toBe('security');
    expect(config.ca.propagationDelay).toBe(5);
    expect(notes).toEqual([expect.stringContaining('using the installation in namespace security')]);
  });

  it('lets a flag override it, and reports the disagreement with both values', () => {
    const { config, notes } = resolveConfig(
      found,
      { flags: { trustDomain: 'example.org', 'ca.secretName': 'mtls-injector-ca' }, env: {} },
      ['trustDomain'],
      '0.1.0',
    );
    expect(config.trustDomain).toBe('example.org');
    const warnings = notes.filter((n) => n.startsWith('warning:'));
    // The flag that agrees with the installation is not news.
    expect(warnings).toEqual([
      "warning: trustDomain: --trust-domain example.org differs from the installation's prod.example.org " +
        '(installation ConfigMap security/mtls-injector-config); using example.org',
    ]);
  });

  it('reports a disagreeing env setting, naming where it came from', () => {
    const { notes } = resolveConfig(
      found,
      { env: { MTLS_INJECTOR_CA_PROPAGATION_DELAY: '5m' } },
      [],
      '0.1.0',
    );
    expect(notes).toContainEqual(
      expect.stringMatching(
        /^warning: ca\.propagationDelay: 300s \(env MTLS_INJECTOR_CA_PROPAGATION_DELAY\) differs from the installation's 5s/,
      ),
    );
  });

  it('says which defaults it uses when there is no installation', () => {
    const { config, notes } = resolveConfig(
      { found: false, why: 'no ConfigMap labelled … in any namespace' },
      { flags: { trustDomain: 'example.org' }, env: {} },
      ['trustDomain', 'ca.propagationDelay'],
      '0.1.0',
    );
    expect(config.ca.propagationDelay).toBe(300);
    expect(notes).toEqual([
      expect.stringMatching(
        /^note: no mtls-injector installation found \(no ConfigMap .*\); using the CLI's defaults: ca\.propagationDelay=300s\. Name the installation with --install-namespace, or pass --config\.$/,
      ),
    ]);
  });

  it('notes a version skew and settings this CLI does not know, and refuses a broken config file', () => {
    const newer = {
      ...found,
      configMap: { ...found.configMap, version: '0.2.0', configYaml: `${INSTALLED}\nfuture: 1` },
    };
    const { notes } = resolveConfig(newer, { env: {} }, [], '0.1.0');
    expect(notes).toContain('note: the installation is version 0.2.0, this CLI is 0.1.0');
    expect(notes).toContain('note: the installation sets future, which this CLI does not know (ignored)');
    const broken = { ...found, configMap: { ...found.configMap, configYaml: '- a list' } };
    expect(() => resolveConfig(broken, { env: {} }, [], '0.1.0')).toThrow(
      /installation ConfigMap security\/mtls-injector-config: config.yaml is not a YAML mapping/,
    );
    const bad = { ...found, configMap: { ...found.configMap, configYaml: 'trustDomain: "Not A Domain"' } };
    expect(() => resolveConfig(bad, { env: {} }, [], '0.1.0')).toThrow(
      /trustDomain \(installation ConfigMap security\/mtls-injector-config\): expected/,
    );
  });
});
