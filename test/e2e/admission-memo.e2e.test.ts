import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharesCluster } from './cluster-lock.js';
import { loadKubeConfig, testNamespaces } from './helpers.js';
import { createPendingPods, productEnv, productPods } from './product.js';

// The memo counter (docs/webhook.md, "Probes, metrics and logs") against the real API server. No hit rate is
// asserted: how often bodies repeat depends on the API server (ADR 0008 has the measurements).
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
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
});
