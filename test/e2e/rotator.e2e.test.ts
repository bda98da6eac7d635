import { CoordinationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import {
  e2eShell,
  metric,
  opensslVerify,
  plainPod,
  productEnv,
  productPods,
  scaleProduct,
  secretOf,
} from './product.js';

const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const coordination = kc.makeApiClient(CoordinationV1Api);
const namespaces = testNamespaces(core);
const install = (): string => productEnv().installNamespace;

const namespace = (prefix: string): Promise<string> =>
  namespaces.create(prefix, { 'mtls-injection': 'enabled' });

/** The rotator's probe/metrics port (chart value rotator.probePort). */
const ROTATOR_PROBE_PORT = 9091;

/** n pods that stay Pending (the rotator issues their Secrets all the same; nothing needs to run them). */
async function createPods(ns: string, n: number): Promise<V1Pod[]> {
  const pods: V1Pod[] = [];
  for (let i = 0; i < n; i++)
    pods.push(
      await core.createNamespacedPod({ namespace: ns, body: plainPod('p-', { unschedulable: true }) }),
    );
  return pods;
}

afterAll(() => namespaces.deleteAll());

describe('the rotator on the real control plane', () => {
  it('renews every Secret before it expires (the e2e install: 4-minute lifetime)', async () => {
    const ns = await namespace('renew');
    const pods = await createPods(ns, 4);
    const first = await Promise.all(pods.map(async (p) => opensslVerify(await secretOf(core, p))));
    const deadline = Math.min(...first.map((c) => Date.parse(c.notAfter)));
    const renewed = await waitFor(
      'every Secret renewed',
      async () => {
        const now = await Promise.all(pods.map(async (p) => opensslVerify(await secretOf(core, p))));
        return now.every((c, i) => c.serial !== first[i]?.serial) ? { now, at: Date.now() } : undefined;
      },
      { timeoutMs: 170_000, intervalMs: 2000 },
    );
    expect(renewed.at).toBeLessThan(deadline);
    for (const c of renewed.now) expect(c.uri).toBe(`spiffe://cluster.local/ns/${ns}/sa/default`);
  }, 200_000);

  it('runs one leader among the two rotator pods; when the leader is killed, another finishes the work', async () => {
    const ns = await namespace('failover');
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
    const pods = await createPods(ns, 20);
    e2eShell(`ctr_k8s tasks kill --signal SIGKILL ${containerId}`);
    await core.deleteNamespacedPod({ namespace: install(), name: leaderName, gracePeriodSeconds: 0 });
    const late = await createPods(ns, 5);
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
