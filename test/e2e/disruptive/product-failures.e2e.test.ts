import { ApiException, CoordinationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { apiError, loadKubeConfig, statusMessage, testNamespaces, waitFor } from '../helpers.js';
import {
  createPendingPods,
  e2eShell,
  MANAGED,
  metric,
  opensslVerify,
  plainPod,
  productEnv,
  productPods,
  scaleProduct,
  secretOf,
} from '../product.js';

// Scenario 6 of the running-pods issue: the product's own pods fail. These suites take the webhook or the
// rotator away, so they run alone, after the others (test/e2e/vitest.disruptive.config.ts).
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const coordination = kc.makeApiClient(CoordinationV1Api);
const namespaces = testNamespaces(core);
const install = (): string => productEnv().installNamespace;

afterAll(async () => {
  await scaleProduct(core, 'webhook', 2);
  await scaleProduct(core, 'rotator', 2);
  await namespaces.deleteAll();
});

/** The rotator's probe/metrics port (chart value rotator.probePort). */
const ROTATOR_PROBE_PORT = 9091;

const injected = (pod: V1Pod): boolean => pod.metadata?.labels?.[MANAGED] === 'true';

describe('failure of the product’s own pods', () => {
  it('refuses pod creation in labelled namespaces only, while both webhook pods are deleted, until they are replaced', async () => {
    const ns = await namespaces.create('webhook-gone', { 'mtls-injection': 'enabled' });
    const plain = await namespaces.create('webhook-gone-plain');
    const before = await productPods(core, 'webhook');
    expect(before).toHaveLength(2);
    const started = Date.now();
    // Deleted at once (grace period 0): a graceful delete lets each pod serve on for webhook.shutdownDelay
    // (5 s) while its replacement starts, and on a quiet node the replacements are Ready within it, so pod
    // creation never fails at all (the point of that delay), and there is no outage to observe.
    await Promise.all(
      before.map((p) =>
        core.deleteNamespacedPod({
          namespace: install(),
          name: p.metadata?.name ?? '',
          gracePeriodSeconds: 0,
        }),
      ),
    );
    // Try both namespaces every 250 ms until the labelled one works again through a replacement webhook pod.
    const refusals: string[] = [];
    let refusedAt: number | undefined;
    let plainCreated = 0;
    let backAt = 0;
    for (;;) {
      try {
        const pod = await core.createNamespacedPod({
          namespace: ns,
          body: plainPod('x-', { unschedulable: true }),
        });
        if (refusedAt !== undefined) {
          expect(injected(pod)).toBe(true);
          backAt = Date.now();
          break;
        }
      } catch (err) {
        refusedAt ??= Date.now();
        refusals.push(
          err instanceof ApiException ? statusMessage(err as ApiException<unknown>) : String(err),
        );
        // Meanwhile an unlabelled namespace is not affected.
        const other = await core.createNamespacedPod({
          namespace: plain,
          body: plainPod('y-', { unschedulable: true }),
        });
        expect(injected(other)).toBe(false);
        plainCreated += 1;
      }
      if (Date.now() - started > 180_000)
        throw new Error(
          refusedAt === undefined
            ? 'no pod creation in the labelled namespace was refused within 180 s of deleting both webhook pods'
            : 'the webhook did not come back within 180 s',
        );
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(refusals.length).toBeGreaterThan(0);
    for (const m of refusals)
      expect(m).toMatch(/failed calling webhook "enabled(-[a-z]+)?\.mtls-injector\.io"/);
    expect(plainCreated).toBe(refusals.length);
    const now = await productPods(core, 'webhook');
    expect(now.map((p) => p.metadata?.uid)).not.toContain(before[0]?.metadata?.uid);
    console.log(
      `both webhook pods deleted: labelled namespaces refused pods for ${Math.round(((backAt - (refusedAt ?? backAt)) / 1000) * 10) / 10}s ` +
        `(${refusals.length} refusals, first ${Math.round(((refusedAt ?? started) - started) / 100) / 10}s after the delete); unlabelled: ${plainCreated} created`,
    );
    console.log(`first refusal: ${refusals[0] ?? ''}`);
  }, 240_000);

  it('fails closed in labelled namespaces while the webhook is down, and only there', async () => {
    const ns = await namespaces.create('down', { 'mtls-injection': 'enabled' });
    const plain = await namespaces.create('updown');
    // The webhook Deployment scaled to 0: its Service has no endpoints, so the API server's call fails.
    await scaleProduct(core, 'webhook', 0);
    try {
      const err = await apiError(() =>
        core.createNamespacedPod({ namespace: ns, body: plainPod('x-', { unschedulable: true }) }),
      );
      expect(statusMessage(err)).toMatch(/failed calling webhook "enabled(-[a-z]+)?\.mtls-injector\.io"/);
      const elsewhere = await core.createNamespacedPod({
        namespace: plain,
        body: plainPod('y-', { unschedulable: true }),
      });
      expect(injected(elsewhere)).toBe(false);
    } finally {
      await scaleProduct(core, 'webhook', 2);
    }
    const again = await waitFor('a pod created through the webhook again', () =>
      core.createNamespacedPod({ namespace: ns, body: plainPod('z-', { unschedulable: true }) }),
    );
    expect(injected(again)).toBe(true);
  });

  it('runs one leader among the two rotator pods; when the leader is killed, another finishes the work', async () => {
    const ns = await namespaces.create('failover', { 'mtls-injection': 'enabled' });
    const leaders = async (): Promise<V1Pod[]> => {
      const pods = await productPods(core, 'rotator');
      const flags = await Promise.all(
        pods.map((p) => metric(p.status?.podIP ?? '', ROTATOR_PROBE_PORT, 'mtls_injector_rotator_leader')),
      );
      return pods.filter((_, i) => flags[i] === 1);
    };
    await waitFor('two rotator pods, exactly one leader', async () => {
      const pods = await productPods(core, 'rotator');
      return pods.length === 2 && (await leaders()).length === 1;
    });
    const lease = await coordination.readNamespacedLease({
      namespace: install(),
      name: 'mtls-injector-rotator',
    });
    const [leader] = await leaders();
    const leaderName = leader?.metadata?.name ?? '';
    // The lease names the leader by its pod name (the chart sets POD_NAME).
    expect(lease.spec?.holderIdentity).toBe(leaderName);
    const containerId = (leader?.status?.containerStatuses?.[0]?.containerID ?? '').replace(
      /^containerd:\/\//,
      '',
    );
    expect(containerId).toMatch(/^[0-9a-f]{64}$/);

    // Pods arrive, and the leader dies without releasing its lease (SIGKILL of its container, through the
    // node's containerd) while it works on them; its pod is then deleted so it cannot come back as itself.
    const pods = await createPendingPods(core, ns, 20);
    e2eShell(`ctr_k8s tasks kill --signal SIGKILL ${containerId}`);
    await core.deleteNamespacedPod({ namespace: install(), name: leaderName, gracePeriodSeconds: 0 });
    const late = await createPendingPods(core, ns, 5);
    const next = await waitFor(
      'another rotator leads',
      async () => {
        const now = await leaders();
        return now.length === 1 && now[0]?.metadata?.name !== leaderName ? now[0] : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(next.metadata?.name).not.toBe(leaderName);
    for (const pod of [...pods, ...late]) {
      expect(opensslVerify(await secretOf(core, pod, 60_000)).uri).toBe(
        `spiffe://cluster.local/ns/${ns}/sa/default`,
      );
    }
    // The Deployment replaced the killed pod: two rotators again, still exactly one leader.
    await scaleProduct(core, 'rotator', 2);
    await waitFor('still exactly one leader', async () => (await leaders()).length === 1, {
      timeoutMs: 30_000,
    });
  }, 240_000);
});
