import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type V1Pod, type V1Secret, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiError,
  images,
  isGone,
  loadKubeConfig,
  testNamespaces,
  restrictedPod,
  statusMessage,
  waitFor,
} from './helpers.js';
import {
  MANAGED,
  opensslVerify,
  percentile,
  plainPod,
  productEnv,
  repoRoot,
  SECRET_ANNOTATION,
  secretOf,
} from './product.js';
import { sharesCluster } from './cluster-lock.js';

const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const namespaces = testNamespaces(core);

const namespace = namespaces.create;

function injected(pod: V1Pod): boolean {
  return pod.metadata?.labels?.[MANAGED] === 'true';
}

beforeAll(() => {
  productEnv(); // fails early with a clear error when the product is not up
});

afterAll(() => namespaces.deleteAll());

sharesCluster('injection.e2e.test.ts');

describe('injection through the real API server', () => {
  it('runs against the chart installed with helm install (release deployed, objects accepted)', () => {
    const status = JSON.parse(
      execFileSync(
        join(repoRoot, '.tools/bin/helm'),
        [
          'status',
          'mtls-injector',
          '-n',
          productEnv().installNamespace,
          '-o',
          'json',
          '--kubeconfig',
          join(repoRoot, '.e2e/kubeconfig'),
        ],
        { encoding: 'utf8' },
      ),
    ) as { info: { status: string } };
    expect(status.info.status).toBe('deployed');
  });

  it('injects every pod of a Deployment in a labelled namespace; the rotator issues each its own Secret', async () => {
    const ns = await namespace('shop', { 'mtls-injection': 'enabled' });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: images().pause }] },
          },
        },
      },
    });
    const pods = await waitFor('3 pods', async () => {
      const list = await core.listNamespacedPod({ namespace: ns });
      return list.items.length === 3 ? list.items : undefined;
    });
    const secretNames = new Set<string>();
    for (const pod of pods) {
      expect(pod.metadata?.generateName).toMatch(/^web-/);
      expect(injected(pod)).toBe(true);
      const names = (pod.spec?.initContainers ?? []).map((c) => c.name);
      expect(names[0]).toBe('mtls-init');
      expect(pod.spec?.containers[0]?.volumeMounts).toContainEqual(
        expect.objectContaining({ name: 'mtls-certs', mountPath: '/var/run/mtls', readOnly: true }),
      );
      const secret = await secretOf(core, pod);
      secretNames.add(secret.metadata?.name ?? '');
      expect(secret.type).toBe('kubernetes.io/tls');
      expect(secret.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid }),
      ]);
      expect(opensslVerify(secret).uri).toBe(`spiffe://cluster.local/ns/${ns}/sa/default`);
    }
    expect(secretNames.size).toBe(3);

    // Deleting one pod deletes its Secret (garbage collector); deleting the Deployment leaves none behind.
    const first = pods[0] as V1Pod;
    await core.deleteNamespacedPod({
      namespace: ns,
      name: first.metadata?.name ?? '',
      gracePeriodSeconds: 0,
    });
    const firstSecret = first.metadata?.annotations?.[SECRET_ANNOTATION] ?? '';
    await waitFor('Secret of the deleted pod gone', () =>
      isGone(() => core.readNamespacedSecret({ namespace: ns, name: firstSecret })),
    );
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'web', propagationPolicy: 'Foreground' });
    await waitFor(
      'no managed Secret left',
      async () =>
        (await core.listNamespacedSecret({ namespace: ns, labelSelector: `${MANAGED}=true` })).items
          .length === 0,
      { timeoutMs: 90_000 },
    );
  });

  it('never patches pods in an unlabelled namespace, kube-system or the install namespace', async () => {
    const plain = await namespace('plain');
    for (const ns of [plain, 'kube-system', productEnv().installNamespace]) {
      const pod = await core.createNamespacedPod({
        namespace: ns,
        body: plainPod('untouched-', {
          labels: ns === plain ? {} : { 'mtls-injection': 'enabled' },
          unschedulable: true,
        }),
      });
      expect(injected(pod), ns).toBe(false);
      expect(pod.spec?.initContainers ?? []).toEqual([]);
      await core.deleteNamespacedPod({
        namespace: ns,
        name: pod.metadata?.name ?? '',
        gracePeriodSeconds: 0,
      });
    }
  });

  it('injects on a server-side dry run and creates nothing (sideEffects None)', async () => {
    const ns = await namespace('dry', { 'mtls-injection': 'enabled' });
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: { ...plainPod(''), metadata: { name: 'dry' } },
      dryRun: 'All',
    });
    expect(injected(pod)).toBe(true);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await core.listNamespacedPod({ namespace: ns })).items).toEqual([]);
    expect(
      (await core.listNamespacedSecret({ namespace: ns, labelSelector: `${MANAGED}=true` })).items,
    ).toEqual([]);
  });

  it('allows the opt-out annotation in enabled namespaces, denies it in strict ones, honours pod-level opt-in', async () => {
    const enabled = await namespace('optout', { 'mtls-injection': 'enabled' });
    const strict = await namespace('strict', { 'mtls-injection': 'strict' });
    const plain = await namespace('podoptin');
    const optOut = { annotations: { 'mtls-injector.io/inject': 'false' } };

    const allowed = await core.createNamespacedPod({ namespace: enabled, body: plainPod('out-', optOut) });
    expect(injected(allowed)).toBe(false);

    const denied = await apiError(() =>
      core.createNamespacedPod({ namespace: strict, body: plainPod('out-', optOut) }),
    );
    expect(denied.code).toBe(403);
    expect(statusMessage(denied)).toContain('requires mTLS injection');

    const strictPod = await core.createNamespacedPod({ namespace: strict, body: plainPod('in-') });
    expect(injected(strictPod)).toBe(true);

    const optedIn = await core.createNamespacedPod({
      namespace: plain,
      body: plainPod('in-', { labels: { 'mtls-injection': 'enabled' } }),
    });
    expect(injected(optedIn)).toBe(true);
    expect(opensslVerify(await secretOf(core, optedIn)).uri).toBe(
      `spiffe://cluster.local/ns/${plain}/sa/default`,
    );
    const notOptedIn = await core.createNamespacedPod({ namespace: plain, body: plainPod('plain-') });
    expect(injected(notOptedIn)).toBe(false);
  });

  it('runs injected pods in a namespace enforcing PodSecurity restricted', async () => {
    const ns = await namespace('restricted', {
      'mtls-injection': 'enabled',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const pod = await core.createNamespacedPod({ namespace: ns, body: restrictedPod('app') });
    expect(injected(pod)).toBe(true);
    expect(pod.spec?.initContainers?.[0]?.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // Admitted is not enough: the kubelet runs mtls-init and the app under the profile.
    const running = await waitFor(
      'the restricted pod Running',
      async () => {
        const p = await core.readNamespacedPod({ namespace: ns, name: 'app' });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const init = running.status?.initContainerStatuses?.find((c) => c.name === 'mtls-init');
    expect(init?.state?.terminated?.exitCode).toBe(0);
    expect(running.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
    expect(opensslVerify(await secretOf(core, running)).uri).toBe(
      `spiffe://cluster.local/ns/${ns}/sa/default`,
    );
  });

  it('measures pod CREATE → Secret present over 200 pods', async () => {
    const ns = await namespace('latency', { 'mtls-injection': 'enabled' });
    const arrived = new Map<string, number>();
    const watch = new Watch(kc);
    const request = await watch.watch(
      `/api/v1/namespaces/${ns}/secrets`,
      { labelSelector: `${MANAGED}=true` },
      (phase: string, secret: V1Secret) => {
        if (phase === 'ADDED' && secret.metadata?.name !== undefined && !arrived.has(secret.metadata.name))
          arrived.set(secret.metadata.name, performance.now());
      },
      () => undefined,
    );
    const created = new Map<string, number>();
    const N = 200;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < N) {
        next += 1;
        const start = performance.now();
        // Unschedulable: this measures admission and the rotator, not 200 pods starting on a 2-core node.
        const pod = await core.createNamespacedPod({
          namespace: ns,
          body: plainPod('lat-', { unschedulable: true }),
        });
        created.set(pod.metadata?.annotations?.[SECRET_ANNOTATION] ?? '', start);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    await waitFor(`${N} Secrets`, () => Promise.resolve(arrived.size >= N), { timeoutMs: 120_000 });
    request.abort();
    const latencies = [...created]
      .map(([name, t]) => Math.max(0, (arrived.get(name) ?? Number.NaN) - t))
      .sort((a, b) => a - b);
    expect(latencies.every((l) => Number.isFinite(l))).toBe(true);
    const row = {
      pods: N,
      concurrency: 4,
      p50Ms: Math.round(percentile(latencies, 50)),
      p90Ms: Math.round(percentile(latencies, 90)),
      p99Ms: Math.round(percentile(latencies, 99)),
      maxMs: Math.round(latencies[latencies.length - 1] ?? 0),
    };
    mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
    writeFileSync(join(repoRoot, 'bench/results/e2e-latency.json'), `${JSON.stringify(row, null, 2)}\n`);
    console.log('pod CREATE → Secret present (ms):', row);
  });
});
