import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  type KubernetesObject,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { images, loadKubeConfig, testNamespaces, waitFor } from '../helpers.js';
import {
  caSecretFile,
  e2eDir,
  kubectl,
  MANAGED,
  opensslVerify,
  plainPod,
  productEnv,
  productPods,
  repoRoot,
  secretOf,
} from '../product.js';
import { podsOf, rolledOut } from '../workloads.js';

// Scenario 8 (the install's lifecycle) and the automatic half of scenario 4 (onboarding.auto) of the
// running-pods issue: `helm upgrade` rolls the product while pods are being created, `helm uninstall` removes
// the webhook configuration first and leaves only what it documents, and a reinstall picks the CA up again.
// Runs alone (test/e2e/vitest.disruptive.config.ts); it leaves the product installed as it found it.
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const namespaces = testNamespaces(core);
const install = (): string => productEnv().installNamespace;
const RELEASE = 'mtls-injector';

/** The values the release was installed with (written by the first test), to put it back as it was. */
let valuesFile = '';

/** `helm install` (or `upgrade`) of the release with the values the suite started with. */
function putBackRelease(command: 'install' | 'upgrade'): ReturnType<typeof helm> {
  return helm([
    command,
    RELEASE,
    join(repoRoot, 'charts/mtls-injector'),
    '-n',
    install(),
    '-f',
    valuesFile,
    '--wait',
    '--timeout',
    '5m',
  ]);
}

/** Names of the cluster-scoped objects of `kinds` that carry the release's instance label. */
function releaseObjects(kinds: string): string[] {
  return kubectl(['get', kinds, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name'])
    .trim()
    .split('\n')
    .filter(Boolean);
}

afterAll(async () => {
  // Whatever failed, leave the product installed with the values it had, for the suites after this one.
  const status = await helm(['status', RELEASE, '-n', install()]);
  if (valuesFile !== '' && status.code !== 0) {
    const reinstall = await putBackRelease('install');
    if (reinstall.code !== 0) throw new Error(`reinstall after the suite failed: ${reinstall.out}`);
  } else if (valuesFile !== '') {
    const restore = await putBackRelease('upgrade');
    if (restore.code !== 0) throw new Error(`restoring the release's values failed: ${restore.out}`);
  }
  await namespaces.deleteAll();
}, 420_000);

/** `helm <args>` against the e2e cluster, without blocking this process. */
function helm(args: readonly string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(repoRoot, '.tools/bin/helm'),
      [...args, '--kubeconfig', join(e2eDir, 'kubeconfig')],
      {
        cwd: repoRoot,
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/**
 * Creates a pod in `ns` every 250 ms until `stop()`; every result is kept. Unschedulable pods: this measures
 * admission through the product, not pods starting.
 */
function podLoop(ns: string) {
  const results: { at: number; error?: string; injected?: boolean }[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const at = Date.now();
      try {
        const pod = await core.createNamespacedPod({
          namespace: ns,
          body: plainPod('loop-', { unschedulable: true }),
        });
        results.push({ at, injected: pod.metadata?.labels?.[MANAGED] === 'true' });
      } catch (err) {
        results.push({ at, error: err instanceof Error ? err.message.slice(0, 300) : String(err) });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    results,
    stop: async () => {
      running = false;
      await done;
      return results;
    },
  };
}

/** Client-side times of DELETED events for objects at `path` (a watch of a collection). */
async function deletions(path: string): Promise<{ times: Map<string, number>; stop: () => void }> {
  const times = new Map<string, number>();
  const req = await new Watch(kc).watch(
    path,
    {},
    (phase: string, obj: KubernetesObject) => {
      if (phase === 'DELETED') times.set(obj.metadata?.name ?? '', Date.now());
    },
    () => undefined,
  );
  return { times, stop: () => req.abort() };
}

describe('the lifecycle of the install', () => {
  it('rolls the product on helm upgrade with a changed value while pod creation never fails', async () => {
    // The values the release was installed with, to put them back at the end.
    const values = await helm(['get', 'values', RELEASE, '-n', install(), '-o', 'json']);
    expect(values.code, values.out).toBe(0);
    valuesFile = join(mkdtempSync(join(tmpdir(), 'mtls-e2e-values-')), 'values.json');
    writeFileSync(valuesFile, values.out);

    const ns = await namespaces.create('upgrade', { 'mtls-injection': 'enabled' });
    const before = [...(await productPods(core, 'webhook')), ...(await productPods(core, 'rotator'))];
    const loop = podLoop(ns);
    await new Promise((r) => setTimeout(r, 2000));
    const started = Date.now();
    // The changed value: automatic onboarding on (a config change: both Deployments roll).
    const upgrade = await helm([
      'upgrade',
      RELEASE,
      join(repoRoot, 'charts/mtls-injector'),
      '-n',
      install(),
      '--reuse-values',
      '--set',
      'rotator.onboardingAuto=true',
      '--wait',
      '--timeout',
      '5m',
    ]);
    expect(upgrade.code, upgrade.out).toBe(0);
    for (const d of ['webhook', 'rotator']) await rolledOut(core, apps, install(), `mtls-injector-${d}`);
    const rolled = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const results = await loop.stop();

    const after = [...(await productPods(core, 'webhook')), ...(await productPods(core, 'rotator'))];
    expect(after).toHaveLength(4);
    for (const p of before) expect(after.map((a) => a.metadata?.uid)).not.toContain(p.metadata?.uid);
    const during = results.filter((r) => r.at >= started && r.at <= rolled);
    console.log(
      `helm upgrade rolled 4 product pods in ${Math.round((rolled - started) / 1000)}s; pods created meanwhile: ` +
        `${during.length}, all through the loop: ${results.length}, errors: ${results.filter((r) => r.error).length}`,
    );
    expect(during.length).toBeGreaterThan(10);
    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
    expect(results.every((r) => r.injected === true)).toBe(true);
  }, 420_000);

  it('with onboarding.auto, restarts the workloads of a namespace that opts in, without a command', async () => {
    const ns = await namespaces.create('auto');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              securityContext: { runAsNonRoot: true, runAsUser: 1000 },
              containers: [{ name: 'app', image: images().pause }],
            },
          },
        },
      },
    });
    const before = await rolledOut(core, apps, ns, 'web');
    expect(before.some((p) => p.metadata?.labels?.[MANAGED] === 'true')).toBe(false);
    const labelled = Date.now();
    kubectl(['label', 'namespace', ns, 'mtls-injection=enabled']);
    const now = await waitFor(
      'every pod of web replaced by an injected, Ready one',
      async () => {
        const pods = await podsOf(core, ns, 'web');
        const ok =
          pods.length === 2 &&
          pods.every((p) => p.metadata?.labels?.[MANAGED] === 'true') &&
          pods.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ok ? pods : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 1000 },
    );
    const took = Math.round((Date.now() - labelled) / 1000);
    for (const p of now) {
      expect(opensslVerify(await secretOf(core, p)).uri).toBe(`spiffe://cluster.local/ns/${ns}/sa/default`);
    }
    const deployment = await apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(
      deployment.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'],
    ).toBeDefined();
    console.log(`onboarding.auto: namespace labelled → 2 injected pods Ready in ${took}s`);
  }, 300_000);

  it('uninstalls the webhook configuration first, leaves only the documented objects, and reinstalls', async () => {
    const ns = await namespaces.create('uninstall', { 'mtls-injection': 'enabled' });
    const running: V1Pod = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('kept-', { unschedulable: true }),
    });
    await secretOf(core, running);
    const caBefore = await caSecretFile(core, 'tls.crt');
    const webhooks = await deletions('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations');
    const deployments = await deletions(`/apis/apps/v1/namespaces/${install()}/deployments`);
    const pods = await deletions(`/api/v1/namespaces/${install()}/pods`);
    const services = await deletions(`/api/v1/namespaces/${install()}/services`);
    const webhookPods = (await productPods(core, 'webhook')).map((p) => p.metadata?.name ?? '');
    const loop = podLoop(ns);
    await new Promise((r) => setTimeout(r, 1000));
    const uninstall = await helm(['uninstall', RELEASE, '-n', install(), '--wait', '--timeout', '3m']);
    expect(uninstall.code, uninstall.out).toBe(0);
    await waitFor(
      'the product pods gone',
      async () => (await core.listNamespacedPod({ namespace: install() })).items.length === 0,
      {
        timeoutMs: 120_000,
      },
    );
    const results = await loop.stop();
    webhooks.stop();
    deployments.stop();
    pods.stop();
    services.stop();

    // Helm deletes Services, then Deployments, and cluster-scoped webhook configurations last (its kind
    // order); the chart's pre-delete hook deletes the configuration first, and each webhook pod keeps serving
    // for webhook.shutdownDelay after SIGTERM. So no pod creation failed for want of a webhook; once the
    // configuration was gone, pods were simply created without an identity.
    const mwcGone = webhooks.times.get('mtls-injector');
    expect(mwcGone).toBeDefined();
    // The chart's pre-delete hook deletes the configuration before Helm deletes anything, the webhook's
    // Service first among them (with the configuration left, the API server would call a Service that is gone).
    expect(services.times.get('mtls-injector-webhook')).toBeGreaterThan(mwcGone ?? Infinity);
    for (const p of webhookPods) expect(pods.times.get(p), p).toBeGreaterThan(mwcGone ?? Infinity);
    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
    expect(results.some((r) => r.injected === false)).toBe(true);
    const deploymentGone = deployments.times.get('mtls-injector-webhook') ?? 0;
    console.log(
      `helm uninstall: webhook configuration deleted ${(mwcGone ?? 0) - deploymentGone} ms after the webhook ` +
        `Deployment, ${Math.min(...webhookPods.map((p) => pods.times.get(p) ?? 0)) - (mwcGone ?? 0)} ms before ` +
        `the first webhook pod was gone; ${results.length} pod creations through it, 0 failed`,
    );

    // What is left, on purpose (docs/install.md, "Uninstall"): the CA Secret (running pods keep trusting each
    // other, and a reinstall issues from the same CA), its public half in the trust-bundle ConfigMap (the old
    // root, should the CA Secret be lost), the revocations and CRLs (a reinstall must not forget a revoked
    // certificate) and the rotator's leader-election Lease (no data; reused).
    // The webhook's serving-certificate Secret is owned by the configuration, so the garbage collector removes
    // it; workload Secrets go with their pods.
    await waitFor(
      'the webhook serving Secret garbage-collected',
      async () =>
        !(await core.listNamespacedSecret({ namespace: install() })).items.some(
          (s) => s.metadata?.name === 'mtls-injector-webhook-tls',
        ),
      { timeoutMs: 60_000 },
    );
    const left = {
      secrets: (await core.listNamespacedSecret({ namespace: install() })).items.map((s) => s.metadata?.name),
      configMaps: (await core.listNamespacedConfigMap({ namespace: install() })).items.map(
        (c) => c.metadata?.name,
      ),
      serviceAccounts: (await core.listNamespacedServiceAccount({ namespace: install() })).items.map(
        (s) => s.metadata?.name,
      ),
      services: (await core.listNamespacedService({ namespace: install() })).items.map(
        (s) => s.metadata?.name,
      ),
      deployments: (await apps.listNamespacedDeployment({ namespace: install() })).items.map(
        (d) => d.metadata?.name,
      ),
      leases: kubectl(['-n', install(), 'get', 'leases', '-o', 'name']).trim().split('\n').filter(Boolean),
      webhookConfigurations: (await admission.listMutatingWebhookConfiguration()).items.map(
        (m) => m.metadata?.name,
      ),
      clusterRbac: releaseObjects('clusterroles,clusterrolebindings'),
      admissionPolicies: releaseObjects('validatingadmissionpolicies,validatingadmissionpolicybindings'),
    };
    console.log('left after helm uninstall:', JSON.stringify(left));
    expect(left).toEqual({
      secrets: ['mtls-injector-ca'],
      configMaps: [
        'kube-root-ca.crt',
        'mtls-injector-crl',
        'mtls-injector-delivery',
        'mtls-injector-trust-bundle',
      ],
      serviceAccounts: ['default'],
      services: [],
      deployments: [],
      leases: ['lease.coordination.k8s.io/mtls-injector-rotator'],
      webhookConfigurations: [],
      clusterRbac: [],
      admissionPolicies: [],
    });
    // The running pod keeps its Secret (owned by the pod) and its identity.
    expect(opensslVerify(await secretOf(core, running)).uri).toBe(
      `spiffe://cluster.local/ns/${ns}/sa/default`,
    );

    // Reinstall with the values the suite started with: the CA is the same, new pods are injected again.
    const reinstall = await putBackRelease('install');
    expect(reinstall.code, reinstall.out).toBe(0);
    for (const d of ['webhook', 'rotator']) await rolledOut(core, apps, install(), `mtls-injector-${d}`);
    expect(await caSecretFile(core, 'tls.crt')).toBe(caBefore);
    const again = await waitFor(
      'a pod injected again',
      async () => {
        const pod = await core.createNamespacedPod({
          namespace: ns,
          body: plainPod('again-', { unschedulable: true }),
        });
        return pod.metadata?.labels?.[MANAGED] === 'true' ? pod : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 2000 },
    );
    expect(opensslVerify(await secretOf(core, again, 60_000)).uri).toBe(
      `spiffe://cluster.local/ns/${ns}/sa/default`,
    );
  }, 600_000);
});
