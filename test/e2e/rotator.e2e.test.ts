import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import {
  cli,
  e2eDir,
  e2eShell,
  MANAGED,
  metric,
  opensslVerify,
  plainPod,
  productEnv,
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

async function createPods(ns: string, n: number): Promise<V1Pod[]> {
  const pods: V1Pod[] = [];
  for (let i = 0; i < n; i++)
    pods.push(await core.createNamespacedPod({ namespace: ns, body: plainPod('p-') }));
  return pods;
}

async function managedSecrets(): Promise<V1Secret[]> {
  return (await core.listSecretForAllNamespaces({ labelSelector: `${MANAGED}=true` })).items;
}

function certCount(pem: string): number {
  return (pem.match(/BEGIN CERTIFICATE/g) ?? []).length;
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
      const pod = await core.createNamespacedPod({ namespace: ns, body: plainPod('during-') });
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
        const text = execKubectl([
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

  it('runs one leader among two rotators; when the leader is killed, the other finishes the work', async () => {
    const ns = await namespace('failover');
    const secondProbe = Number(e2eShell('free_port').trim());
    e2eShell(
      `start_rotator rotator-1 ${secondProbe}; wait_for "rotator-1 /readyz" 60 curl -fsS http://127.0.0.1:${secondProbe}/readyz`,
    );
    const ports = { 'rotator-0': productEnv().rotatorProbePort, 'rotator-1': secondProbe };
    const leaders = async () =>
      (await metric(ports['rotator-0'], 'mtls_injector_rotator_leader')) +
      (await metric(ports['rotator-1'], 'mtls_injector_rotator_leader'));
    await waitFor('exactly one leader', async () => (await leaders()) === 1, { timeoutMs: 30_000 });
    const lease = await coordination.readNamespacedLease({
      namespace: install(),
      name: 'mtls-injector-rotator',
    });
    const leader = lease.spec?.holderIdentity as 'rotator-0' | 'rotator-1';
    expect(Object.keys(ports)).toContain(leader);
    const follower = leader === 'rotator-0' ? 'rotator-1' : 'rotator-0';

    // Pods arrive, and the leader dies without releasing its lease (SIGKILL) while it works on them.
    const pods = await createPods(ns, 20);
    e2eShell(`kill -KILL -- "-$(cat .e2e/pids/${leader}.pid)"; rm -f .e2e/pids/${leader}.pid`);
    const late = await createPods(ns, 5);
    await waitFor(
      'the follower leads',
      async () => (await metric(ports[follower], 'mtls_injector_rotator_leader')) === 1,
      { timeoutMs: 40_000 },
    );
    for (const pod of [...pods, ...late]) {
      expect(opensslVerify(await secretOf(core, pod, 60_000)).uri).toBe(
        `spiffe://cluster.local/ns/${ns}/sa/default`,
      );
    }

    // Restore a second replica under the old name so later suites and e2e:down see the usual processes.
    e2eShell(
      `start_rotator ${leader} ${ports[leader]}; wait_for "${leader} /readyz" 60 curl -fsS http://127.0.0.1:${ports[leader]}/readyz`,
    );
    await waitFor('still exactly one leader', async () => (await leaders()) === 1, { timeoutMs: 30_000 });
  }, 240_000);
});

function execKubectl(args: readonly string[]): string {
  return e2eShell(
    `kubectl --kubeconfig ${join(e2eDir, 'kubeconfig')} ${args.map((a) => `'${a}'`).join(' ')}`,
  ).trim();
}
