import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { images, loadKubeConfig, testNamespaces, waitFor } from '../helpers.js';
import { kubectl, MANAGED, opensslVerify, plainPod, scaleProduct, secretOf } from '../product.js';

// Scenario 5 of the running-pods issue: mtls-init keeps the app from starting without its own, valid identity.
// The rotator is scaled to 0, so it runs with the disruptive suites (test/e2e/vitest.disruptive.config.ts).
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const namespaces = testNamespaces(core);

afterAll(async () => {
  await scaleProduct(core, 'rotator', 2);
  await namespaces.deleteAll();
});

/** A pod whose app container is the pause image, under `serviceAccountName`. */
function pod(name: string, serviceAccountName: string): V1Pod {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      serviceAccountName,
      securityContext: { runAsNonRoot: true, runAsUser: 1000 },
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'app', image: images().pause }],
    },
  };
}

const read = (ns: string, name: string): Promise<V1Pod> => core.readNamespacedPod({ namespace: ns, name });
const appStarted = (p: V1Pod): boolean =>
  p.status?.containerStatuses?.some(
    (c) => c.name === 'app' && (c.state?.running !== undefined || c.state?.terminated !== undefined),
  ) === true;
const initState = (p: V1Pod) => p.status?.initContainerStatuses?.find((c) => c.name === 'mtls-init');

describe('mtls-init guards the app', () => {
  it('holds a pod in Init while the rotator is down, and refuses a Secret holding another identity until it is repaired', async () => {
    const ns = await namespaces.create('guard', { 'mtls-injection': 'enabled' });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'other' } } });
    // A certificate for another service account of the same namespace, from the real CA (to forge with).
    const donor = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('donor-', { serviceAccountName: 'other', unschedulable: true }),
    });
    const donorSecret = await secretOf(core, donor);
    expect(opensslVerify(donorSecret).uri).toBe(`spiffe://cluster.local/ns/${ns}/sa/other`);

    await scaleProduct(core, 'rotator', 0);
    const downAt = Date.now();
    try {
      // No rotator: the pod is injected, but its Secret never comes; no container starts.
      const waiting = await core.createNamespacedPod({ namespace: ns, body: pod('waiting', 'default') });
      expect(waiting.metadata?.labels?.[MANAGED]).toBe('true');

      // Someone writes the pod's Secret with the other account's certificate and key, as ours (labelled
      // managed, owned by the pod), so the kubelet mounts it and mtls-init reads it.
      const tampered = await core.createNamespacedPod({ namespace: ns, body: pod('tampered', 'default') });
      const secretName = tampered.metadata?.annotations?.['mtls-injector.io/secret'] ?? '';
      await core.createNamespacedSecret({
        namespace: ns,
        body: {
          metadata: {
            name: secretName,
            labels: { [MANAGED]: 'true', 'mtls-injector.io/pod': 'tampered' },
            ownerReferences: [
              { apiVersion: 'v1', kind: 'Pod', name: 'tampered', uid: tampered.metadata?.uid ?? '' },
            ],
          },
          type: 'kubernetes.io/tls',
          data: donorSecret.data ?? {},
        },
      });
      const refusal = await waitFor(
        'mtls-init to name the mismatch',
        () => {
          const log = kubectl(['-n', ns, 'logs', 'tampered', '-c', 'mtls-init']);
          return Promise.resolve(log.includes('waiting') ? log : undefined);
        },
        { timeoutMs: 90_000, intervalMs: 2000 },
      );
      console.log('mtls-init on a Secret of another service account:\n', refusal);
      expect(refusal).toContain(`spiffe://cluster.local/ns/${ns}/sa/default`);
      expect(refusal).toContain(`spiffe://cluster.local/ns/${ns}/sa/other`);
      expect(refusal).toContain('wrong_identity');
      expect(appStarted(await read(ns, 'tampered'))).toBe(false);

      // Meanwhile the first pod still waits: its volume cannot be mounted, mtls-init and the app never ran.
      const held = await read(ns, 'waiting');
      expect(held.status?.phase).toBe('Pending');
      expect(initState(held)?.state?.waiting).toBeDefined();
      expect(appStarted(held)).toBe(false);
      const events = await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: 'involvedObject.name=waiting',
      });
      expect(events.items.map((e) => `${e.reason}: ${e.message}`).join('\n')).toMatch(
        /FailedMount: .*mtls-certs.*not found/,
      );
    } finally {
      await scaleProduct(core, 'rotator', 2);
    }
    const upAt = Date.now();

    // The rotator back: the waiting pod gets its Secret and starts; the tampered Secret is reissued for the
    // pod's own identity, the kubelet delivers it, mtls-init passes and the app starts.
    const started = async (name: string): Promise<V1Pod> =>
      waitFor(
        `${name} Running`,
        async () => {
          const p = await read(ns, name);
          return p.status?.phase === 'Running' && appStarted(p) ? p : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 1000 },
      );
    const waitingPod = await started('waiting');
    const waitingRunningAt = Date.now();
    const tamperedPod = await started('tampered');
    const tamperedRunningAt = Date.now();
    for (const p of [waitingPod, tamperedPod]) {
      expect(initState(p)?.state?.terminated?.exitCode).toBe(0);
      expect(opensslVerify(await secretOf(core, p)).uri).toBe(`spiffe://cluster.local/ns/${ns}/sa/default`);
      expect(kubectl(['-n', ns, 'logs', p.metadata?.name ?? '', '-c', 'mtls-init'])).toContain(
        `identity spiffe://cluster.local/ns/${ns}/sa/default verified`,
      );
    }
    console.log(
      `rotator down ${Math.round((upAt - downAt) / 1000)}s; after it was back: waiting pod Running in ` +
        `${Math.round((waitingRunningAt - upAt) / 1000)}s, tampered pod in ${Math.round((tamperedRunningAt - upAt) / 1000)}s ` +
        `(mtls-init restarts: ${initState(tamperedPod)?.restartCount ?? 0})`,
    );
  }, 480_000);
});
