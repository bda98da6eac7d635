/**
 * The CLI reads the installation (src/cli/installation.ts) on the real cluster: with no --config and no
 * setting flags, `check` judges identities by the installed trust domain and `ca rotate` waits the installed
 * ca.propagationDelay (the e2e install sets 5s; the CLI's own default is 5m), and `ca rotate status` says
 * when each step may run, agreeing with the step.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { kubeconfigPath, loadKubeConfig, readEnvFile, testNamespaces, waitFor } from './helpers.js';
import { cli, e2eDir, kubectl, plainPod, productEnv, productPods, repoRoot, secretOf } from './product.js';

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

interface StepView {
  readonly step: string;
  readonly state: 'now' | 'waiting' | 'blocked';
  readonly reason: string;
  readonly retryInSeconds?: number;
}
interface StatusView {
  readonly phase: string;
  readonly managed: number;
  readonly ready: number;
  readonly steps: readonly StepView[];
  readonly propagationDelaySeconds: number;
}

function status(): StatusView {
  const result = cli(['ca', 'rotate', 'status', '-o', 'json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusView;
}
function stateOf(s: StatusView, step: string): StepView {
  const found = s.steps.find((x) => x.step === step);
  if (found === undefined) throw new Error(`status has no step ${step}: ${JSON.stringify(s)}`);
  return found;
}

/** True if the webhook at podIp completes a handshake whose chain verifies against `rootPem` alone. */
function servesChainTo(podIp: string, rootPem: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({
      host: podIp,
      port: 10250, // chart value webhook.port
      servername: `mtls-injector-webhook.${install()}.svc`,
      ca: rootPem,
      timeout: 3000,
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
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

  it('ca rotate prepare → status → activate → retire runs through with the installed propagation delay', async () => {
    const installed = installedConfig();
    const delay = Number(/^(\d+)s$/.exec(installed.ca.propagationDelay)?.[1]);
    expect(delay, 'the e2e install sets ca.propagationDelay in seconds').toBeGreaterThan(0);
    const ns = await namespaces.create('rotate-installed', { 'mtls-injection': 'enabled' });
    for (let i = 0; i < 2; i++) {
      const pod = await core.createNamespacedPod({
        namespace: ns,
        body: plainPod('p-', { unschedulable: true }),
      });
      await secretOf(core, pod);
    }

    let s = status();
    expect(s.propagationDelaySeconds).toBe(delay); // the installation's, not the CLI's default (300)
    expect(s.phase).toBe('steady');
    expect(stateOf(s, 'prepare').state).toBe('now');
    expect(stateOf(s, 'activate').state).toBe('blocked');

    const prepared = cli(['ca', 'rotate', 'prepare']);
    expect(prepared.code, prepared.stderr).toBe(0);
    expect(prepared.stderr).not.toContain('warning:');
    s = status();
    expect(s.phase).toBe('prepared');
    expect(stateOf(s, 'activate').state).not.toBe('blocked');

    // Condition-based: follow status until it says activate may run; every countdown it shows is the
    // installed delay's, never the CLI default's.
    const countdowns: number[] = [];
    await waitFor(
      'status says activate may run now',
      () => {
        const step = stateOf(status(), 'activate');
        if (step.retryInSeconds !== undefined) countdowns.push(step.retryInSeconds);
        return Promise.resolve(step.state === 'now');
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    for (const left of countdowns) expect(left).toBeLessThanOrEqual(delay);
    const activated = cli(['ca', 'rotate', 'activate']);
    expect(activated.code, activated.stderr).toBe(0);
    const newRoot = Buffer.from(
      kubectl(['get', 'secret', '-n', install(), 'mtls-injector-ca', '-o', 'jsonpath={.data.tls\\.crt}']),
      'base64',
    ).toString('utf8');

    s = status();
    expect(s.phase).toBe('activated');
    expect(stateOf(s, 'prepare').state).toBe('blocked');
    await waitFor(
      'status says retire may run now',
      () => Promise.resolve(stateOf(status(), 'retire').state === 'now'),
      {
        timeoutMs: 120_000,
        intervalMs: 1000,
      },
    );
    // As the runbook says: retire once the webhook pods serve their reissued certificate (the kubelet
    // delivers a changed Secret at its next sync of the pod), or the API server cannot call the webhook.
    await waitFor(
      'every webhook pod serves a certificate from the new CA',
      async () => {
        const pods = await productPods(core, 'webhook');
        const served = await Promise.all(pods.map((p) => servesChainTo(p.status?.podIP ?? '', newRoot)));
        return pods.length > 0 && served.every(Boolean);
      },
      { timeoutMs: 180_000, intervalMs: 2000 },
    );
    const retired = cli(['ca', 'rotate', 'retire']);
    expect(retired.code, retired.stderr).toBe(0);
    s = status();
    expect(s.phase).toBe('steady');
    expect(stateOf(s, 'prepare').state).toBe('now');
  }, 400_000);
});
