/**
 * The CLI reads the installation (src/cli/installation.ts) on the real cluster: with no --config and no
 * setting flags, `check` judges identities by the installed trust domain. (`ca rotate` waiting the installed
 * ca.propagationDelay, and `ca rotate status` saying when each step may run, are checked during the one CA
 * rotation of the e2e run, test/e2e/rotation-under-traffic.ts, driven by pod-certificates.e2e.test.ts or, on a
 * release without Pod Certificates, by live-traffic.e2e.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { kubeconfigPath, loadKubeConfig, readEnvFile, testNamespaces } from './helpers.js';
import { cli, e2eDir, kubectl, plainPod, productEnv, repoRoot, secretOf } from './product.js';
import { sharesCluster } from './cluster-lock.js';

const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const namespaces = testNamespaces(core);
const install = (): string => productEnv().installNamespace;
afterAll(() => namespaces.deleteAll());

/** The installed config file, read the way an operator would: kubectl, the chart's ConfigMap. */
function installedConfig(): { trustDomain: string; ca: { propagationDelay: string } } {
  const yaml = kubectl([
    'get',
    'configmap',
    '-n',
    install(),
    '-l',
    'app.kubernetes.io/part-of=mtls-injector,app.kubernetes.io/component=config',
    '-o',
    'jsonpath={.items[0].data.config\\.yaml}',
  ]);
  return parseYaml(yaml) as { trustDomain: string; ca: { propagationDelay: string } };
}

interface CheckView {
  readonly namespace?: {
    readonly pods: readonly {
      readonly name: string;
      readonly certificate?: { readonly spiffeId?: string };
      readonly checks: readonly { readonly ok: boolean; readonly reason: string }[];
    }[];
  };
}

sharesCluster('installation.e2e.test.ts');

describe('the installation', () => {
  it('was installed with helm from the packaged chart', () => {
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
      .version;
    const packaged = readEnvFile(join(e2eDir, 'product.env')).CHART_PACKAGE ?? '';
    expect(packaged.endsWith(`/mtls-injector-${version}.tgz`), packaged).toBe(true);
    expect(existsSync(packaged)).toBe(true);
    const helm = spawnSync(
      join(repoRoot, '.tools/bin/helm'),
      ['get', 'metadata', 'mtls-injector', '-n', install(), '--kubeconfig', kubeconfigPath, '-o', 'json'],
      { encoding: 'utf8' },
    );
    expect(helm.status, helm.stderr).toBe(0);
    expect(JSON.parse(helm.stdout)).toMatchObject({
      chart: 'mtls-injector',
      version,
      appVersion: version,
      status: 'deployed',
    });
  });
});

describe('the CLI reads the installation', () => {
  it('check with no flags judges identities by the installed trust domain; a disagreeing flag is reported', async () => {
    const installed = installedConfig();
    const ns = await namespaces.create('reads-install', { 'mtls-injection': 'enabled' });
    const pod: V1Pod = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('p-', { unschedulable: true }),
    });
    await secretOf(core, pod);
    const podName = pod.metadata?.name ?? '';

    const plain = cli(['check', '-n', ns, '--pod', podName, '-o', 'json']);
    expect(plain.stderr).toContain(`using the installation in namespace ${install()}`);
    expect(plain.stderr).not.toContain('warning:');
    const report = JSON.parse(plain.stdout) as CheckView;
    const [checked] = report.namespace?.pods ?? [];
    expect(checked?.certificate?.spiffeId).toBe(`spiffe://${installed.trustDomain}/ns/${ns}/sa/default`);
    expect(checked?.checks.filter((c) => c.reason === 'wrong_identity')).toEqual([]);

    // The case: a trust domain the installation does not use. It is used, and said loudly.
    const other = cli(['check', '-n', ns, '--pod', podName, '--trust-domain', 'example.org', '-o', 'json']);
    expect(other.stderr).toContain(
      `warning: trustDomain: --trust-domain example.org differs from the installation's ${installed.trustDomain}`,
    );
    const otherReport = JSON.parse(other.stdout) as CheckView;
    expect(otherReport.namespace?.pods[0]?.checks).toContainEqual(
      expect.objectContaining({ ok: false, reason: 'wrong_identity' }),
    );

    // A namespace without an installation: said so, with the defaults used.
    const none = cli(['check', '--install-namespace', ns, '-o', 'json']);
    expect(none.stderr).toMatch(
      new RegExp(
        `note: no mtls-injector installation found \\(no ConfigMap labelled .* in namespace ${ns}\\); using the CLI's defaults: trustDomain=cluster.local`,
      ),
    );
  });
  // ca rotate with the installed ca.propagationDelay (status, activate, retire, no --config) runs in
  // test/e2e/rotation-under-traffic.ts, under live mTLS traffic: one CA rotation per e2e run.
});
