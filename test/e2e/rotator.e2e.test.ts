import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import { createPendingPods, opensslVerify, secretOf } from './product.js';
import { sharesCluster } from './cluster-lock.js';

const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const namespaces = testNamespaces(core);

const namespace = (prefix: string): Promise<string> =>
  namespaces.create(prefix, { 'mtls-injection': 'enabled' });

afterAll(() => namespaces.deleteAll());

sharesCluster('rotator.e2e.test.ts');

describe('the rotator on the real control plane', () => {
  it('renews every Secret before it expires (the e2e install: 4-minute lifetime)', async () => {
    const ns = await namespace('renew');
    const pods = await createPendingPods(core, ns, 4);
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
});
