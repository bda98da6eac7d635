import { connect } from 'node:tls';
import { CoordinationV1Api, CoreV1Api, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import {
  cli,
  e2eShell,
  kubectl,
  MANAGED,
  metric,
  opensslVerify,
  plainPod,
  productEnv,
  productPods,
  scaleProduct,
  secretFiles,
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

async function managedSecrets(): Promise<V1Secret[]> {
  return (await core.listSecretForAllNamespaces({ labelSelector: `${MANAGED}=true` })).items;
}

function certCount(pem: string): number {
  return (pem.match(/BEGIN CERTIFICATE/g) ?? []).length;
}

/** The webhook's HTTPS port in its pod (chart value webhook.port). */
const WEBHOOK_PORT = 10250;

/** True if the webhook at podIp completes a handshake whose chain verifies against `rootPem` alone. */
function servesChainTo(podIp: string, rootPem: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({
      host: podIp,
      port: WEBHOOK_PORT,
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

function caSecretFile(file: string): Promise<string> {
  return core
    .readNamespacedSecret({ namespace: install(), name: 'mtls-injector-ca' })
    .then((s) => Buffer.from(s.data?.[file] ?? '', 'base64').toString('utf8'));
}

afterAll(() => namespaces.deleteAll());

describe('the rotator on the real control plane', () => {
  it('renews every Secret before it expires (3-minute lifetime)', async () => {
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

  it('rotates the CA prepare → activate → retire while every pod keeps trusting every other', async () => {
    const ns = await namespace('rotate');
    const pods = await createPods(ns, 3);
    await Promise.all(pods.map((p) => secretOf(core, p)));
    const oldRoot = await caSecretFile('tls.crt');
    const flags = ['--ca-propagation-delay', '5s'];

    /** Every workload leaf verifies against every workload's own ca.crt, with openssl. */
    const mutualTrust = async (): Promise<void> => {
      const secrets = await Promise.all(pods.map((p) => secretOf(core, p)));
      for (const server of secrets)
        for (const client of secrets) opensslVerify(server, secretFiles(client).ca);
    };
    const newPodInjected = async (): Promise<void> => {
      const pod = await core.createNamespacedPod({
        namespace: ns,
        body: plainPod('during-', { unschedulable: true }),
      });
      expect(pod.metadata?.labels?.[MANAGED]).toBe('true');
    };

    expect(cli(['ca', 'rotate', 'prepare', ...flags]).code).toBe(0);
    await waitFor(
      'every managed Secret trusts both roots',
      async () => (await managedSecrets()).every((s) => certCount(secretFiles(s).ca) === 2),
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await mutualTrust();
    await newPodInjected();

    await waitFor(
      'activate accepted',
      () => Promise.resolve(cli(['ca', 'rotate', 'activate', ...flags]).code === 0),
      {
        timeoutMs: 60_000,
        intervalMs: 2000,
      },
    );
    const newRoot = await caSecretFile('tls.crt');
    expect(newRoot).not.toBe(oldRoot);
    await waitFor(
      'every leaf reissued from the new CA',
      async () => {
        for (const s of await managedSecrets()) {
          try {
            opensslVerify(s, newRoot);
          } catch {
            return false;
          }
        }
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await mutualTrust();
    await newPodInjected();

    // The kubelet delivers the webhook's reissued serving certificate to its pods at its next sync of each pod
    // (up to about a minute); `retire` does not wait for that, so wait as an operator must: until every
    // webhook pod serves a certificate that chains to the new root. (docs/e2e.md, "What the node showed".)
    await waitFor(
      'every webhook pod serves a certificate from the new CA',
      async () => {
        const pods = await productPods(core, 'webhook');
        const served = await Promise.all(pods.map((p) => servesChainTo(p.status?.podIP ?? '', newRoot)));
        return pods.length > 0 && served.every(Boolean);
      },
      { timeoutMs: 180_000, intervalMs: 2000 },
    );
    expect(cli(['ca', 'rotate', 'retire', ...flags]).code).toBe(0);
    await waitFor(
      'the old root gone from every bundle',
      async () => (await managedSecrets()).every((s) => certCount(secretFiles(s).ca) === 1),
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await mutualTrust();
    // The API server now trusts only the new root for the webhook, whose serving cert comes from it (H1).
    await waitFor(
      'caBundle holds only the new root',
      () => {
        const text = kubectl([
          'get',
          'mutatingwebhookconfiguration',
          'mtls-injector',
          '-o',
          'jsonpath={.webhooks[0].clientConfig.caBundle}',
        ]);
        return Promise.resolve(certCount(Buffer.from(text, 'base64').toString('utf8')) === 1);
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    await newPodInjected();
    expect(cli(['ca', 'rotate', 'status']).stdout).toContain('phase: steady');
  }, 400_000);

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
