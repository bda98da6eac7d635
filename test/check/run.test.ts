import { describe, expect, it } from 'vitest';
import { renderCheck, renderCheckJson } from '../../src/check/render.js';
import { checkExitCode, runCheck } from '../../src/check/run.js';
import type { PodObject } from '../../src/kube/types.js';
import { FakeConfigMapApi } from '../fakes/configmaps.js';
import { buildTrustBundleConfigMap, type TrustBundle } from '../../src/model/trust-bundle.js';
import { FakeSecretApi } from '../fakes/kube.js';
import { FakeWorkloadApi } from '../fakes/workloads.js';
import {
  caSecret,
  checkOptions,
  DAY,
  injectedPod,
  NOW,
  plainPod,
  rootCa,
  servingSecret,
  webhookConfiguration,
  workloadSecret,
} from './fixtures.js';

const ca = rootCa({ now: new Date(NOW.getTime() - 10 * DAY * 1000) });

/** A healthy installation; namespace shop (enabled) with two injected pods and their Secrets. */
function healthy() {
  const inspect = new FakeWorkloadApi().addNamespace('shop', { 'mtls-injection': 'enabled' });
  inspect.webhookConfiguration = webhookConfiguration(ca.certPem);
  inspect.services.set('mtls-injector/mtls-injector-webhook', {
    metadata: { name: 'mtls-injector-webhook', namespace: 'mtls-injector' },
  });
  inspect.endpoints.set('mtls-injector/mtls-injector-webhook', {
    ready: 2,
    notReady: 0,
    source: 'EndpointSlice',
  });
  const secrets = new FakeSecretApi();
  secrets.put(caSecret(ca));
  secrets.put(servingSecret(ca));
  const pods: PodObject[] = [injectedPod('web-0'), injectedPod('web-1')];
  for (const pod of pods) secrets.put(workloadSecret(ca, pod));
  inspect.pods = pods;
  inspect.secretSource = () => secrets.objects.values();
  const configMaps = new FakeConfigMapApi();
  return { inspect, secrets, configMaps, deps: { inspect, secrets, configMaps, now: NOW } };
}

describe('runCheck', () => {
  it('reports a healthy installation and namespace healthy: exit 0', async () => {
    const { deps } = healthy();
    const report = await runCheck(deps, { ...checkOptions, namespace: 'shop' });
    expect(report.cluster.map((c) => [c.name, c.ok])).toEqual([
      ['webhook-configuration', true],
      ['webhook-entries', true],
      ['webhook-ca-bundle', true],
      ['webhook-serving-cert', true],
      ['webhook-endpoints', true],
      ['ca', true],
      ['revocations', true],
    ]);
    expect(report.namespace?.checks.map((c) => c.reason)).toEqual(['opted_in']);
    expect(report.namespace?.pods.map((p) => [p.name, p.injected, p.checks.every((c) => c.ok)])).toEqual([
      ['web-0', true, true],
      ['web-1', true, true],
    ]);
    expect(report).toMatchObject({ ok: true, summary: { passed: 28, warnings: 0, errors: 0 } });
    expect(checkExitCode(report)).toBe(0);
    expect(renderCheck(report, false)).toContain(
      'status: all checks passed (28 passed, 0 warnings, 0 errors)',
    );
  });

  it('reads the Secrets of a namespace with one list, and gets only the ones the list lacks', async () => {
    const { deps, inspect, secrets } = healthy();
    const foreign = workloadSecret(ca, inspect.pods[1] ?? injectedPod('x'));
    secrets.put({ ...foreign, metadata: { ...foreign.metadata, labels: {} } });
    secrets.calls.length = 0;
    const report = await runCheck(deps, { ...checkOptions, namespace: 'shop' });
    expect(inspect.calls.filter((c) => c.startsWith('list secrets'))).toEqual([
      'list secrets shop mtls-injector.io/managed=true',
    ]);
    expect(secrets.calls.filter((c) => c.name.endsWith('-mtls'))).toEqual([
      { op: 'get', name: 'web-1-mtls' },
    ]);
    expect(report.namespace?.pods[1]?.checks[1]).toMatchObject({ reason: 'secret_not_managed' });
  });

  it('names the problem for a pod whose Secret was deleted: exit 1', async () => {
    const { deps, secrets } = healthy();
    await secrets.delete('shop', 'web-1-mtls');
    const report = await runCheck(deps, { ...checkOptions, namespace: 'shop' });
    const pod = report.namespace?.pods.find((p) => p.name === 'web-1');
    expect(pod?.checks.filter((c) => !c.ok).map((c) => c.reason)).toEqual(['secret_missing']);
    expect(checkExitCode(report)).toBe(1);
    const text = renderCheck(report, false);
    expect(text).toContain('✖ pod web-1 (StatefulSet/web): injected [already_injected]');
    expect(text).toContain('✖ secret: Secret shop/web-1-mtls not found');
    expect(text).toContain('hint: the rotator issues and renews it');
  });

  it('names an opted-out pod: a warning, exit 3', async () => {
    const { deps, inspect } = healthy();
    inspect.pods.push(plainPod('legacy', { annotations: { 'mtls-injector.io/inject': 'false' } }));
    const report = await runCheck(deps, { ...checkOptions, namespace: 'shop' });
    const pod = report.namespace?.pods.find((p) => p.name === 'legacy');
    expect(pod?.checks).toEqual([
      expect.objectContaining({ name: 'injection', ok: false, severity: 'warning', reason: 'opted_out' }),
    ]);
    expect(checkExitCode(report)).toBe(3);
  });

  it('names an expired CA', async () => {
    const { deps, secrets } = healthy();
    const expired = rootCa({ now: new Date(NOW.getTime() - 400 * DAY * 1000), days: 365 });
    secrets.put(caSecret(expired));
    const report = await runCheck(deps, checkOptions);
    expect(report.cluster.find((c) => c.name === 'ca')).toMatchObject({ ok: false, reason: 'ca_expired' });
    expect(checkExitCode(report)).toBe(1);
  });

  it('--pod checks one pod and judges the namespace with all its pods', async () => {
    const { deps } = healthy();
    const report = await runCheck(deps, { ...checkOptions, namespace: 'shop', pod: 'web-1' });
    expect(report.namespace?.pods.map((p) => p.name)).toEqual(['web-1']);
    const text = renderCheck(report, true);
    expect(text).toContain('expected identity: spiffe://cluster.local/ns/shop/sa/web');
    expect(text).toContain('webhook: entry enabled, would skip now [already_injected]');
    expect(text).toContain(
      '✔ certificate-identity: certificate carries spiffe://cluster.local/ns/shop/sa/web',
    );
    const missing = await runCheck(deps, { ...checkOptions, namespace: 'shop', pod: 'nope' });
    expect(missing.namespace?.checks.map((c) => c.reason)).toEqual(['opted_in', 'pod_missing']);
    expect(checkExitCode(missing)).toBe(1);
  });

  it('reports a namespace that lost its label while injected pods run there (G5), with and without -n', async () => {
    const { deps, inspect } = healthy();
    inspect.addNamespace('shop');
    const scoped = await runCheck(deps, { ...checkOptions, namespace: 'shop' });
    expect(scoped.namespace?.checks[0]).toMatchObject({ ok: false, reason: 'lost_opt_in' });
    expect(scoped.namespace?.checks[0]?.message).toContain(
      '2 injected pod(s) still run there (web-0, web-1)',
    );
    const clusterWide = await runCheck(deps, checkOptions);
    expect(clusterWide.cluster.at(-1)).toMatchObject({
      name: 'lost-opt-in',
      ok: false,
      reason: 'lost_opt_in',
    });
  });

  it('without -n, says all is well when no namespace lost its label', async () => {
    const { deps } = healthy();
    const report = await runCheck(deps, checkOptions);
    expect(report.cluster.at(-1)).toMatchObject({ name: 'lost-opt-in', ok: true, reason: 'no_lost_opt_in' });
    expect(report.namespace).toBeNull();
  });

  it('turns API failures into failed checks instead of throwing', async () => {
    const { deps, inspect } = healthy();
    inspect.faults.set('getWebhookConfiguration', 403);
    inspect.faults.set('listPods', 500);
    const report = await runCheck(deps, { ...checkOptions, namespace: 'shop' });
    expect(report.cluster[0]).toMatchObject({
      name: 'webhook-configuration',
      severity: 'warning',
      reason: 'forbidden',
    });
    expect(report.namespace?.checks.map((c) => c.reason)).toEqual(['opted_in', 'api_error']);
    expect(checkExitCode(report)).toBe(1);
  });

  it('reports a webhook without ready endpoints and a missing webhook configuration', async () => {
    const { deps, inspect } = healthy();
    inspect.endpoints.set('mtls-injector/mtls-injector-webhook', {
      ready: 0,
      notReady: 2,
      source: 'EndpointSlice',
    });
    const report = await runCheck(deps, checkOptions);
    expect(report.cluster.find((c) => c.name === 'webhook-endpoints')?.reason).toBe('no_ready_endpoints');
    inspect.webhookConfiguration = undefined;
    const gone = await runCheck(deps, checkOptions);
    expect(gone.cluster.map((c) => c.name)).toEqual([
      'webhook-configuration',
      'ca',
      'revocations',
      'lost-opt-in',
    ]);
  });

  it('prints a stable JSON schema', async () => {
    const { deps } = healthy();
    const json = JSON.parse(
      renderCheckJson(await runCheck(deps, { ...checkOptions, namespace: 'shop' })),
    ) as {
      [key: string]: unknown;
      namespace: { pods: Record<string, unknown>[]; [key: string]: unknown };
      cluster: Record<string, unknown>[];
    };
    expect(Object.keys(json)).toEqual([
      'schemaVersion',
      'ok',
      'generatedAt',
      'summary',
      'cluster',
      'namespace',
    ]);
    expect(json).toMatchObject({ schemaVersion: 1, ok: true, generatedAt: '2026-11-23T12:00:00.000Z' });
    expect(Object.keys(json.cluster[0] ?? {})).toEqual([
      'name',
      'ok',
      'severity',
      'reason',
      'message',
      'hint',
    ]);
    expect(Object.keys(json.namespace)).toEqual(['name', 'mode', 'checks', 'pods']);
    const pod = json.namespace.pods[0] ?? {};
    expect(Object.keys(pod)).toEqual([
      'name',
      'serviceAccount',
      'phase',
      'injected',
      'owner',
      'webhook',
      'secretName',
      'delivery',
      'podCertificate',
      'expectedSpiffeId',
      'certificate',
      'checks',
    ]);
    expect(pod['delivery']).toMatchObject({ mode: 'secret' });
    expect(pod['podCertificate']).toBeNull();
    expect(Object.keys(pod['webhook'] as object)).toEqual([
      'selected',
      'entry',
      'decision',
      'reason',
      'message',
    ]);
    expect(Object.keys(pod['certificate'] as object)).toEqual([
      'spiffeId',
      'dnsNames',
      'serial',
      'notBefore',
      'notAfter',
      'expiresInSeconds',
      'revoked',
      'crl',
    ]);
  });
});

describe('runCheck: the CA from the trust-bundle ConfigMap (no access to the CA key needed)', () => {
  const bundleOf = (authority: typeof ca, extra: Partial<TrustBundle> = {}) =>
    buildTrustBundleConfigMap('mtls-injector', 'mtls-injector-trust-bundle', {
      bundlePem: authority.trustBundlePem,
      issuerPem: authority.certPem,
      lost: undefined,
      problem: undefined,
      ...extra,
    });

  it("judges the CA and every pod's ca.crt from the ConfigMap, and never reads the CA Secret", async () => {
    const { deps, inspect, secrets } = healthy();
    inspect.configMaps.set('mtls-injector/mtls-injector-trust-bundle', bundleOf(ca));
    secrets.calls.length = 0;
    const report = await runCheck(deps, { ...checkOptions, namespace: 'shop' });
    expect(report.cluster.find((c) => c.name === 'ca')).toMatchObject({ ok: true, reason: 'ca_valid' });
    expect(report.cluster.find((c) => c.name === 'ca')?.message).toContain(
      'issuer.crt of ConfigMap mtls-injector/mtls-injector-trust-bundle',
    );
    expect(secrets.calls.filter((c) => c.name === 'mtls-injector-ca')).toEqual([]);
    const pod = report.namespace?.pods[0];
    expect(pod?.checks.find((c) => c.name === 'trust-bundle')).toMatchObject({ reason: 'bundle_current' });
  });

  it('says the CA Secret is lost, and what to do', async () => {
    const { deps, inspect } = healthy();
    const lost =
      'CA Secret mtls-injector/mtls-injector-ca is missing while 2 workload Secret(s) issued from it exist';
    inspect.configMaps.set('mtls-injector/mtls-injector-trust-bundle', bundleOf(ca, { lost }));
    const report = await runCheck(deps, checkOptions);
    expect(report.cluster.find((c) => c.name === 'ca')).toMatchObject({
      ok: false,
      severity: 'error',
      reason: 'ca_lost',
      message: lost,
    });
    expect(report.cluster.find((c) => c.name === 'ca')?.hint).toContain('docs/runbooks/ca-missing.md');
    expect(checkExitCode(report)).toBe(1);
  });

  it('names an expired issuing CA and one the rotator cannot use', async () => {
    const { deps, inspect } = healthy();
    const expired = rootCa({ now: new Date(NOW.getTime() - 400 * DAY * 1000), days: 365 });
    inspect.configMaps.set('mtls-injector/mtls-injector-trust-bundle', bundleOf(expired));
    let report = await runCheck(deps, checkOptions);
    expect(report.cluster.find((c) => c.name === 'ca')).toMatchObject({ reason: 'ca_expired' });
    const problem = 'CA Secret mtls-injector/mtls-injector-ca: the CA key does not match the CA certificate';
    inspect.configMaps.set('mtls-injector/mtls-injector-trust-bundle', bundleOf(ca, { problem }));
    report = await runCheck(deps, checkOptions);
    expect(report.cluster.find((c) => c.name === 'ca')).toMatchObject({
      reason: 'ca_invalid',
      message: problem,
    });
  });
});
