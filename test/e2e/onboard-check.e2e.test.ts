import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AppsV1Api, CoreV1Api, type V1Pod, Watch } from '@kubernetes/client-node';
import { Command, CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/check/run.js';
import { registerCheck } from '../../src/cli/check.js';
import type { CliContext } from '../../src/cli/context.js';
import { registerOnboard } from '../../src/cli/onboard.js';
import { isInjectorError } from '../../src/core/errors.js';
import type { OnboardReport } from '../../src/onboard/run.js';
import { generateRootCa } from '../../src/pki/ca.js';
import { newCaSecret } from '../../src/model/ca-secret.js';
import { apiStatus, images, kubeconfigPath, loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import { opensslVerify, secretOf } from './product.js';
import { sharesCluster } from './cluster-lock.js';

const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const namespaces = testNamespaces(core);

/**
 * The parts that need the product (webhook + rotator) run only when scripts/e2e/up.sh started it (it writes
 * .e2e/product.env); `MTLS_E2E_PRODUCT=0 npm run e2e:up` gives a control plane without it.
 */
const productRunning = existsSync(join(kubeconfigPath, '..', 'product.env'));
const needsProduct = (title: string): string =>
  productRunning
    ? title
    : `${title} (skipped: needs the webhook and rotator of npm run e2e:up; .e2e/product.env missing)`;

afterAll(() => namespaces.deleteAll());

const namespace = namespaces.create;

/** Runs `mtls-injector <args>` in-process (the real command code, the e2e kubeconfig). */
async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (write: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        write(chunk.toString('utf8'));
        cb();
      },
    });
  const ctx: CliContext = {
    env: { KUBECONFIG: kubeconfigPath },
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    signal: new AbortController().signal,
    version: 'e2e',
    readStdin: () => Promise.resolve(''),
  };
  let code = 0;
  const program = new Command('mtls-injector').exitOverride();
  for (const register of [registerOnboard, registerCheck]) register(program, ctx, (c) => (code = c));
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return { code: 2, stdout, stderr: err.message };
    if (isInjectorError(err)) return { code: 1, stdout, stderr: err.message };
    throw err;
  }
  return { code, stdout, stderr };
}

async function json<T>(args: readonly string[]): Promise<{ code: number; report: T }> {
  const result = await cli([...args, '-o', 'json']);
  try {
    return { code: result.code, report: JSON.parse(result.stdout) as T };
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}${result.stderr}`);
  }
}

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'app', image: images().pause }] },
});

async function podsOf(ns: string, app: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items.filter(
    (p) => p.metadata?.deletionTimestamp === undefined,
  );
}

const injected = (p: V1Pod): boolean => p.metadata?.labels?.['mtls-injector.io/managed'] === 'true';
const ready = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

sharesCluster('onboard-check.e2e.test.ts');

describe('onboard on the real API server', () => {
  it('restarts a Deployment and a StatefulSet created before the namespace label, one at a time', async () => {
    const ns = await namespace('onboard');
    // The Deployment's default strategy: maxUnavailable 25 % of 3 rounds down to 0, so no Ready pod may go.
    const webReplicas = 3;
    const maxUnavailable = 0;
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: webReplicas,
          selector: { matchLabels: { app: 'web' } },
          template: podTemplate('web'),
        },
      },
    });
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'db' },
        spec: {
          replicas: 2,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: podTemplate('db'),
        },
      },
    });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'idle' },
        spec: { replicas: 0, selector: { matchLabels: { app: 'idle' } }, template: podTemplate('idle') },
      },
    });
    const before = await waitFor(
      '5 Running pods before the label',
      async () => {
        const pods = [...(await podsOf(ns, 'web')), ...(await podsOf(ns, 'db'))];
        return pods.length === 5 && pods.every(ready) ? pods : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect(before.some(injected)).toBe(false);
    // The Ready, not terminating pods of web, after every pod event, from here to the end of onboarding.
    const webReady = new Map<string, boolean>();
    const readyCounts: number[] = [];
    const watch = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { labelSelector: 'app=web' },
      (phase: string, pod: V1Pod) => {
        const podName = pod.metadata?.name ?? '';
        if (phase === 'DELETED' || pod.metadata?.deletionTimestamp !== undefined) webReady.delete(podName);
        else webReady.set(podName, ready(pod));
        readyCounts.push([...webReady.values()].filter(Boolean).length);
      },
      () => undefined,
    );

    // Not opted in yet: refused, nothing touched.
    const refused = await cli(['onboard', '-n', ns]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`namespace ${ns} is not opted in`);

    const current = await core.readNamespace({ name: ns });
    current.metadata = {
      ...current.metadata,
      labels: { ...current.metadata?.labels, 'mtls-injection': 'enabled' },
    };
    await core.replaceNamespace({ name: ns, body: current });

    const dry = await json<OnboardReport>(['onboard', '-n', ns, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.report.workloads.map((w) => `${w.kind}/${w.name}:${w.outcome}:${w.reason}`)).toEqual([
      'Deployment/web:dry_run:not_injected',
      'StatefulSet/db:dry_run:not_injected',
      'Deployment/idle:skipped:no_pods',
    ]);
    const untouched = await apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(untouched.metadata?.generation).toBe(1);

    const onboardStarted = Date.now();
    const run = await json<OnboardReport>(['onboard', '-n', ns, '--timeout', '180s']);
    const onboardMs = Date.now() - onboardStarted;
    watch.abort();
    expect(run.code).toBe(0);
    const [web, db] = run.report.workloads;
    // A real node runs the new pods (mtls-init first), so both rollouts finish.
    expect(web).toMatchObject({ kind: 'Deployment', name: 'web', action: 'restart', outcome: 'complete' });
    expect(db).toMatchObject({ kind: 'StatefulSet', name: 'db', action: 'restart', outcome: 'complete' });
    expect(run.report.summary).toMatchObject({ failed: 0, skipped: 1 });
    // One at a time: db was restarted only after web's rollout had completed.
    expect(Date.parse(db?.restartedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(web?.restartedAt ?? '') + Math.floor((web?.elapsedMs ?? 0) / 1000) * 1000,
    );

    // The restart is the kubectl one: the pod template carries restartedAt, and a new ReplicaSet has it.
    const deployment = await apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    const restartedAt =
      deployment.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
    expect(restartedAt).toBe(web?.restartedAt);
    const replicaSets = (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' }))
      .items;
    const fresh = replicaSets.find(
      (rs) => rs.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'] === restartedAt,
    );
    expect(fresh).toBeDefined();
    const hash = fresh?.metadata?.labels?.['pod-template-hash'];
    const newWebPods = (await podsOf(ns, 'web')).filter(
      (p) => p.metadata?.labels?.['pod-template-hash'] === hash,
    );
    expect(newWebPods.length).toBeGreaterThanOrEqual(1);
    expect(web?.newPods).toBe(newWebPods.length);

    const sts = await apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
    expect(sts.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe(
      db?.restartedAt,
    );

    if (productRunning) {
      // With the webhook running, every pod from the new templates is injected, and the old ones are gone.
      expect(newWebPods.every(injected)).toBe(true);
      expect(web?.newPodsInjected).toBe(newWebPods.length);
      const now = await waitFor('only injected, Running pods of web and db', async () => {
        const pods = [...(await podsOf(ns, 'web')), ...(await podsOf(ns, 'db'))];
        return pods.length === 5 && pods.every((p) => injected(p) && p.status?.phase === 'Running')
          ? pods
          : undefined;
      });
      for (const pod of before) expect(now.map((p) => p.metadata?.uid)).not.toContain(pod.metadata?.uid);
      // Every new pod: mtls-init passed, and its Secret chains to the CA for its own SPIFFE ID (openssl).
      for (const pod of now) {
        const init = pod.status?.initContainerStatuses?.find((c) => c.name === 'mtls-init');
        expect(init?.state?.terminated?.exitCode).toBe(0);
        expect(opensslVerify(await secretOf(core, pod)).uri).toBe(
          `spiffe://cluster.local/ns/${ns}/sa/default`,
        );
      }
      // The Deployment never went below replicas − maxUnavailable Ready pods.
      expect(readyCounts.length).toBeGreaterThan(webReplicas);
      const floor = Math.min(...readyCounts.slice(webReplicas));
      expect(floor).toBeGreaterThanOrEqual(webReplicas - maxUnavailable);
      console.log(
        `onboard: web (3 replicas) ${web?.elapsedMs} ms, db (2 replicas) ${db?.elapsedMs} ms, whole command ` +
          `${onboardMs} ms; web's Ready pods never below ${floor} over ${readyCounts.length} pod events`,
      );
      // check agrees: every pod has its identity, none is left to onboard.
      const check = await json<CheckReport>(['check', '-n', ns]);
      const reasons = Object.fromEntries(
        check.report.namespace?.pods.map((p) => [
          p.name,
          p.checks.find((c) => c.name === 'injection')?.reason,
        ]) ?? [],
      );
      for (const pod of now) expect(reasons[pod.metadata?.name ?? '']).toBe('already_injected');
    }
  }, 300_000);
});

describe('check on the real API server', () => {
  it.skipIf(!productRunning)(needsProduct('reports a healthy namespace healthy'), async () => {
    const ns = await namespace('healthy', { 'mtls-injection': 'enabled' });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: podTemplate('web') },
      },
    });
    await waitFor('2 injected pods with their Secrets', async () => {
      const pods = await podsOf(ns, 'web');
      if (pods.length !== 2 || !pods.every(injected)) return undefined;
      for (const pod of pods) {
        await core.readNamespacedSecret({
          namespace: ns,
          name: pod.metadata?.annotations?.['mtls-injector.io/secret'] ?? '',
        });
      }
      return true;
    });
    const { code, report } = await json<CheckReport>(['check', '-n', ns]);
    const failed = [
      ...report.cluster,
      ...(report.namespace?.checks ?? []),
      ...(report.namespace?.pods.flatMap((p) => p.checks) ?? []),
    ].filter((c) => !c.ok);
    expect(failed).toEqual([]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.namespace?.pods).toHaveLength(2);
    for (const pod of report.namespace?.pods ?? []) {
      expect(pod.certificate?.spiffeId).toBe(`spiffe://cluster.local/ns/${ns}/sa/default`);
    }
    const text = await cli(['check', '-n', ns]);
    expect(text.stdout).toMatch(/status: all checks passed/);
  });

  it.skipIf(!productRunning)(
    needsProduct('names the problem for a pod whose Secret was deleted'),
    async () => {
      const ns = await namespace('nosecret', { 'mtls-injection': 'enabled' });
      const pod = await core.createNamespacedPod({
        namespace: ns,
        body: { metadata: { name: 'lonely', labels: { app: 'lonely' } }, spec: podTemplate('lonely').spec },
      });
      expect(injected(pod)).toBe(true);
      const secretName = pod.metadata?.annotations?.['mtls-injector.io/secret'] ?? '';
      await waitFor('its Secret', () => core.readNamespacedSecret({ namespace: ns, name: secretName }));
      // Keep the rotator from re-creating it at once (it would, faults F6): a quota of 0 Secrets makes every create in
      // this namespace 403 (the rotator backs off, D2), while the delete still goes through. The resourcequota
      // controller fills in the quota's status; until then the API server refuses nothing.
      await core.createNamespacedResourceQuota({
        namespace: ns,
        body: { metadata: { name: 'no-secrets' }, spec: { hard: { 'count/secrets': '0' } } },
      });
      await waitFor('the quota to refuse Secrets', async () => {
        try {
          await core.createNamespacedSecret({
            namespace: ns,
            dryRun: 'All',
            body: { metadata: { name: 'probe' } },
          });
          return false;
        } catch (err) {
          return apiStatus(err) === 403;
        }
      });
      await core.deleteNamespacedSecret({ namespace: ns, name: secretName });

      const { code, report } = await json<CheckReport>(['check', '-n', ns, '--pod', 'lonely']);
      expect(code).toBe(1);
      const [only] = report.namespace?.pods ?? [];
      expect(only?.checks.filter((c) => !c.ok).map((c) => [c.name, c.reason])).toEqual([
        ['secret', 'secret_missing'],
      ]);
      const text = await cli(['check', '-n', ns, '--pod', 'lonely']);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`✖ secret: Secret ${ns}/${secretName} not found`);
    },
  );

  it('names an opted-out pod', async () => {
    const ns = await namespace('optout', { 'mtls-injection': 'enabled' });
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'legacy', annotations: { 'mtls-injector.io/inject': 'false' } },
        spec: podTemplate('legacy').spec,
      },
    });
    const { code, report } = await json<CheckReport>(['check', '-n', ns, '--pod', 'legacy']);
    const [pod] = report.namespace?.pods ?? [];
    expect(pod?.injected).toBe(false);
    expect(pod?.webhook).toMatchObject({ selected: true, decision: 'skip', reason: 'opted_out' });
    expect(pod?.checks).toEqual([
      expect.objectContaining({ name: 'injection', ok: false, severity: 'warning', reason: 'opted_out' }),
    ]);
    expect(code).not.toBe(0);
  });

  it('names an expired CA', async () => {
    // A separate install namespace, so the running rotator's CA is never touched.
    const install = await namespace('expired-ca');
    const now = Date.now();
    const ca = generateRootCa({
      keyAlgorithm: 'ecdsa-p256',
      trustDomain: 'cluster.local',
      lifetimeSeconds: 86_400,
      now: new Date(now - 10 * 86_400_000),
    });
    await core.createNamespacedSecret({
      namespace: install,
      body: newCaSecret(ca, install, 'mtls-injector-ca', new Date(now)) as Parameters<
        typeof core.createNamespacedSecret
      >[0]['body'],
    });
    const { code, report } = await json<CheckReport>(['check', '--install-namespace', install]);
    expect(report.cluster.find((c) => c.name === 'ca')).toMatchObject({
      ok: false,
      severity: 'error',
      reason: 'ca_expired',
    });
    expect(code).toBe(1);
    const text = await cli(['check', '--install-namespace', install]);
    expect(text.stdout).toMatch(new RegExp(`✖ ca: CA Secret ${install}/mtls-injector-ca: .*expired`));
  });
});
