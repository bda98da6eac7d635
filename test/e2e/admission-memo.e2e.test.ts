import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharesCluster } from './cluster-lock.js';
import { images, loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import { createPendingPods, productEnv, productPods, SECRET_ANNOTATION } from './product.js';
import { writeReport } from './workloads.js';

// The memo counter (docs/webhook.md, "Probes, metrics and logs") against the real API server: every review is
// counted once, and a Deployment scaled up is answered from the memo although the API server gives each of its
// pods its own token volume name and managedFields time (docs/adr/0008-admission-memo.md).
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const namespaces = testNamespaces(core);

/** The webhook's probe/metrics port (chart value webhook.probePort). */
const WEBHOOK_PROBE_PORT = 9090;

/** The samples of one counter in one scrape, as [labels text, value]. */
function samples(text: string, name: string): [string, number][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => [l.slice(name.length, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]);
}

const sum = (pairs: readonly [string, number][]): number => pairs.reduce((s, [, v]) => s + v, 0);

/** The memo counter by result, summed over the webhook pods and endpoints. */
async function memoCounts(): Promise<Record<'hit' | 'template' | 'miss', number>> {
  const counts = { hit: 0, template: 0, miss: 0 };
  for (const pod of await productPods(core, 'webhook')) {
    const text = await (
      await fetch(`http://${pod.status?.podIP ?? ''}:${WEBHOOK_PROBE_PORT}/metrics`)
    ).text();
    for (const [labels, value] of samples(text, 'mtls_injector_admission_memo_total'))
      for (const result of ['hit', 'template', 'miss'] as const)
        if (labels.includes(`result="${result}"`)) counts[result] += value;
  }
  return counts;
}

beforeAll(() => {
  productEnv();
});
afterAll(() => namespaces.deleteAll());
sharesCluster('admission-memo.e2e.test.ts');

describe('the admission memo counter on the real webhook pods', () => {
  it('counts every answered review once: hit + template + miss equals the reviews answered without error', async () => {
    const ns = await namespaces.create('memo-count', { 'mtls-injection': 'enabled' });
    await createPendingPods(core, ns, 3);
    let secretEndpoint = 0;
    for (const pod of await productPods(core, 'webhook')) {
      // One scrape per pod: both counters are written in the same synchronous step of a review, so one scrape
      // is consistent even while other suites create pods.
      const text = await (
        await fetch(`http://${pod.status?.podIP ?? ''}:${WEBHOOK_PROBE_PORT}/metrics`)
      ).text();
      const memo = samples(text, 'mtls_injector_admission_memo_total');
      const answered = samples(text, 'mtls_injector_admissions_total').filter(
        ([labels]) => !labels.includes('result="error"'),
      );
      expect(sum(memo), `webhook pod ${pod.metadata?.name ?? ''}`).toBe(sum(answered));
      for (const [labels] of memo) expect(labels).toMatch(/result="(hit|template|miss)"/);
      secretEndpoint += sum(memo.filter(([labels]) => labels.includes('endpoint="/mutate/secret"')));
    }
    expect(secretEndpoint).toBeGreaterThanOrEqual(3);
  });

  it('answers a Deployment scaled up from the memo: its pods differ in token volume name and managedFields time', async () => {
    const ns = await namespaces.create('memo-rollout', { 'mtls-injection': 'enabled' });
    const name = 'rollout';
    // The token is mounted (the default): the ServiceAccount plugin names each pod's token volume at random.
    // A node selector no node matches keeps the pods Pending: admission is all this test needs.
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              nodeSelector: { 'mtls-e2e.test/no-such-node': 'true' },
              containers: [{ name: 'app', image: images().pause }],
            },
          },
        },
      },
    });
    const report: Record<string, unknown>[] = [];
    for (const replicas of [20, 50]) {
      const before = await memoCounts();
      const scaledAt = new Date().toISOString();
      await apps.replaceNamespacedDeploymentScale({
        name,
        namespace: ns,
        body: { metadata: { name, namespace: ns }, spec: { replicas } },
      });
      const pods = await waitFor(
        `${replicas} pods of deployment ${name}`,
        async () => {
          const list = (await core.listNamespacedPod({ namespace: ns })).items;
          return list.length >= replicas ? list : undefined;
        },
        { timeoutMs: 120_000 },
      );
      const after = await memoCounts();
      const delta = {
        hit: after.hit - before.hit,
        template: after.template - before.template,
        miss: after.miss - before.miss,
      };
      // The bodies really differ: a token volume name per pod, and the pods span the seconds they span.
      const tokens = new Set(
        pods.map((p) => p.spec?.volumes?.find((v) => v.name.startsWith('kube-api-access-'))?.name),
      );
      const times = new Set(pods.map((p) => p.metadata?.managedFields?.[0]?.time?.toISOString()));
      const secrets = new Set(pods.map((p) => p.metadata?.annotations?.[SECRET_ANNOTATION]));
      report.push({
        replicas,
        scaledAt,
        ...delta,
        reviews: delta.hit + delta.template + delta.miss,
        tokens: tokens.size,
        managedFieldsTimes: times.size,
      });
      console.log(`memo, deployment scaled to ${replicas}: ${JSON.stringify(report.at(-1))}`);
      expect(tokens.size).toBe(pods.length);
      expect(tokens.has(undefined)).toBe(false);
      // Every pod was injected, each with its own Secret (the random suffix is drawn per review, hit or not).
      expect(secrets.has(undefined)).toBe(false);
      expect(secrets.size).toBe(pods.length);
      // Other suites may create pods meanwhile, so their reviews can add to the counters; ours alone bring
      // (new pods) - 2 x (webhook replicas) hits at least once each replica has its template.
      const newPods = replicas - (replicas === 20 ? 0 : 20);
      const webhooks = (await productPods(core, 'webhook')).length;
      expect(delta.hit).toBeGreaterThanOrEqual(newPods - 2 * webhooks);
    }
    writeReport('admission-memo-rollout', report);
  });
});
