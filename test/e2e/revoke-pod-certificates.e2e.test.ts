/**
 * `revoke --pod` on a running pod with pod certificates, on the real node (docs/revocation.md, "Pods with pod
 * certificates"): its serial goes on the CRL, which reaches pods as /var/run/mtls/ca.crl from the namespace's
 * ConfigMap; the rotator evicts the pod, and its Deployment's replacement runs with a new key and serial.
 * Needs a release serving PodCertificateRequests (skipped elsewhere).
 */
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCrls } from '../../src/pki/crl-reader.js';
import { DELIVERY_LABEL, images, isGone, loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import { cli, deliveryFacts, kubectl, productEnv } from './product.js';
import { nodeInApp } from './workloads.js';
import { sharesCluster, usesAlone } from './cluster-lock.js';

const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const namespaces = testNamespaces(core);
const install = (): string => productEnv().installNamespace;
const RECORD = 'mtls-injector-revocations';
afterAll(async () => {
  await namespaces.deleteAll();
  await isGone(() => core.deleteNamespacedConfigMap({ namespace: install(), name: RECORD }));
});

const served = deliveryFacts().podCertificateRequests !== null;

const ready = (p: V1Pod): boolean =>
  p.metadata?.deletionTimestamp == null &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The serial the app in `pod` logged (whoami), lowercase hex as the CRL reader spells it. */
function loggedSerial(ns: string, pod: string): string | undefined {
  const line = kubectl(['-n', ns, 'logs', pod, '-c', 'app'])
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; serial?: string })
    .find((l) => l.event === 'whoami');
  return line?.serial?.toLowerCase().replace(/^(00)+/, '');
}

/** The serials listed by the CRLs in `pem`. */
const listed = (pem: string): Set<string> => new Set(parseCrls(pem).flatMap((c) => [...c.revoked.keys()]));

/** /var/run/mtls/ca.crl as the app container sees it. */
function mountedCrl(ns: string, pod: string): string {
  return nodeInApp(ns, pod, [
    '-e',
    "const f='/var/run/mtls/ca.crl';process.stdout.write(require('fs').existsSync(f)?require('fs').readFileSync(f,'utf8'):'')",
  ]);
}

// The revocation files read and count the one revocation record: one at a time. This file's pods hold pod
// certificates only briefly (their namespace goes at its end), so a CA rotation's retire simply waits them out.
usesAlone('revoke-pod-certificates.e2e.test.ts', 'revocation record');
sharesCluster('revoke-pod-certificates.e2e.test.ts');

describe.skipIf(!served)('revoke --pod on a running pod with pod certificates', () => {
  it('lists its serial on the CRL in the pods’ ca.crl, evicts it, and its replacement has a new serial', async () => {
    const ns = await namespaces.create('revoke-pc', {
      'mtls-injection': 'enabled',
      [DELIVERY_LABEL]: 'podCertificate',
    });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'web' } } });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              serviceAccountName: 'web',
              terminationGracePeriodSeconds: 2,
              securityContext: { runAsNonRoot: true, runAsUser: 1000 },
              containers: [{ name: 'app', image: images().app, args: ['whoami', '--watch', '60000'] }],
            },
          },
        },
      },
    });
    const runningPods = async () =>
      (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items.filter(ready);
    const first = await waitFor('the first pod Ready', async () => (await runningPods())[0], {
      timeoutMs: 180_000,
      intervalMs: 1000,
    });
    const name = first.metadata?.name ?? '';
    const uid = first.metadata?.uid ?? '';
    const serial = await waitFor('the app logged its serial', () => Promise.resolve(loggedSerial(ns, name)), {
      timeoutMs: 30_000,
      intervalMs: 1000,
    });

    const started = Date.now();
    const revoked = cli(['revoke', '--pod', `${ns}/${name}`, '--reason', 'keyCompromise']);
    expect(revoked.stderr).toBe('');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`pod ${ns}/${name} (UID ${uid}): the rotator evicts it`);

    // The CRL in the namespace's ConfigMap (what the projection reads) lists the serial.
    await waitFor(
      'the namespace ConfigMap ca.crl listing the serial',
      async () => {
        const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'mtls-injector-trust-bundle' });
        return listed(cm.data?.['ca.crl'] ?? '').has(serial);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const crlInConfigMapMs = Date.now() - started;

    // The pod is evicted (the Eviction API) and the Deployment's replacement runs with a new serial.
    await waitFor(
      'the revoked pod gone',
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns })).items;
        return !pods.some((p) => p.metadata?.uid === uid);
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const evictedMs = Date.now() - started;
    const events = (
      await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })
    ).items.map((e) => e.reason);
    expect(events).toContain('RevokedPodEvicted');
    expect(events).toContain('CertificateRevoked');
    const next = await waitFor('a replacement Ready', async () => (await runningPods())[0], {
      timeoutMs: 180_000,
      intervalMs: 1000,
    });
    const nextName = next.metadata?.name ?? '';
    expect(next.metadata?.uid).not.toBe(uid);
    const nextSerial = await waitFor(
      'the replacement logged its serial',
      () => Promise.resolve(loggedSerial(ns, nextName)),
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    expect(nextSerial).not.toBe(serial);
    const replacedMs = Date.now() - started;

    // The replacement's own /var/run/mtls/ca.crl lists the revoked serial, not its own.
    const mounted = await waitFor(
      'the replacement’s ca.crl listing the revoked serial',
      () => {
        const pem = mountedCrl(ns, nextName);
        return Promise.resolve(pem !== '' && listed(pem).has(serial) ? pem : undefined);
      },
      { timeoutMs: 120_000, intervalMs: 2000 },
    );
    expect(listed(mounted).has(nextSerial)).toBe(false);
    const crlInPodMs = Date.now() - started;

    // check reports the replacement's CRL as current; the record holds the pod entry and the serial.
    const check = cli(['check', '-n', ns, '--pod', nextName, '-o', 'json']);
    const report = JSON.parse(check.stdout) as {
      namespace: { pods: { checks: { name: string; ok: boolean; reason: string }[] }[] };
    };
    const crlCheck = report.namespace.pods[0]?.checks.find((c) => c.name === 'crl');
    expect(crlCheck).toMatchObject({ ok: true, reason: 'crl_current' });
    const record = kubectl([
      '-n',
      install(),
      'get',
      'configmap',
      RECORD,
      '-o',
      'jsonpath={.data.revocations\\.json}',
    ]);
    expect(record).toContain(`"uid":"${uid}"`);
    expect(record).toContain(`"serial":"${serial}"`);
    console.log(
      `revoke --pod (pod certificates): CRL in the namespace ConfigMap after ${crlInConfigMapMs} ms, pod gone after ${evictedMs} ms, replacement with a new serial after ${replacedMs} ms, CRL in its ca.crl after ${crlInPodMs} ms`,
    );
  }, 600_000);
});
