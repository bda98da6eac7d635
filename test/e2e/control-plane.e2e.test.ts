import { AppsV1Api, CoreV1Api, VersionApi, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiError,
  images,
  isGone,
  loadKubeConfig,
  testNamespaces,
  restrictedPod,
  statusMessage,
  waitFor,
} from './helpers.js';
import { sharesCluster } from './cluster-lock.js';

// Proves the e2e control plane behaves like a real cluster in the ways mtls-injector depends on:
// admission (PodSecurity, dry-run), workload controllers creating pods, and ownerReference garbage collection.
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const namespaces = testNamespaces(core);

const namespace = namespaces.create;

beforeAll(async () => {
  await waitFor('apiserver /readyz', async () => (await kc.makeApiClient(VersionApi).getCode()).gitVersion);
});

afterAll(() => namespaces.deleteAll());

sharesCluster('control-plane.e2e.test.ts');

describe('control plane', () => {
  it('is a real kube-apiserver with the default namespace and serviceaccount', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    const sa = await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
    expect(sa.metadata?.name).toBe('default');
  });

  it('enforces PodSecurity restricted: rejects a privileged pod, admits a compliant one', async () => {
    const ns = await namespace('e2e-psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const privileged: V1Pod = {
      metadata: { name: 'privileged' },
      spec: {
        containers: [{ name: 'app', image: images().pause, securityContext: { privileged: true } }],
      },
    };
    const err = await apiError(() => core.createNamespacedPod({ namespace: ns, body: privileged }));
    expect(err.code).toBe(403);
    expect(statusMessage(err)).toContain('violates PodSecurity "restricted:latest"');
    expect(statusMessage(err)).toContain('securityContext.privileged=true');
    expect(await isGone(() => core.readNamespacedPod({ name: 'privileged', namespace: ns }))).toBe(true);

    const created = await core.createNamespacedPod({ namespace: ns, body: restrictedPod('compliant') });
    expect(created.metadata?.uid).toBeTruthy();
  });

  it('runs the deployment and replicaset controllers, the scheduler and the kubelet: a Deployment pod runs', async () => {
    const ns = await namespace('e2e-deploy');
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 1, selector: { matchLabels: labels }, template: restrictedPod('', labels) },
      },
    });
    const pod = await waitFor('a Running pod of deployment web', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      const first = pods.items[0];
      return first?.status?.phase === 'Running' ? first : undefined;
    });
    expect(pod.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
    expect(pod.metadata?.name).toMatch(/^web-[a-z0-9]+-[a-z0-9]+$/);
    // Scheduled to the node, given an address from its pod range, started by containerd.
    const [node] = (await core.listNode()).items;
    expect(pod.spec?.nodeName).toBe(node?.metadata?.name);
    expect(pod.status?.podIP).toMatch(/^198\.18\.\d+\.\d+$/);
    expect(pod.status?.containerStatuses?.[0]?.containerID).toMatch(/^containerd:\/\//);
    // ServiceAccount admission ran: the projected token volume was added.
    expect(pod.spec?.volumes?.some((v) => v.name.startsWith('kube-api-access-'))).toBe(true);
  });

  it('garbage-collects a Secret owned by a pod when the pod is deleted', async () => {
    const ns = await namespace('e2e-gc');
    const pod = await core.createNamespacedPod({ namespace: ns, body: restrictedPod('owner') });
    const owner = { apiVersion: 'v1', kind: 'Pod', name: 'owner', uid: pod.metadata!.uid! };
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'owned', ownerReferences: [owner] }, stringData: { k: 'v' } },
    });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'unowned' } } });

    // Force-deleted: the object is removed at once; the kubelet stops its containers afterwards.
    await core.deleteNamespacedPod({ name: 'owner', namespace: ns, gracePeriodSeconds: 0 });
    expect(await isGone(() => core.readNamespacedPod({ name: 'owner', namespace: ns }))).toBe(true);

    await waitFor('secret owned to be garbage-collected', () =>
      isGone(() => core.readNamespacedSecret({ name: 'owned', namespace: ns })),
    );
    const unowned = await core.readNamespacedSecret({ name: 'unowned', namespace: ns });
    expect(unowned.metadata?.name).toBe('unowned');
  });

  it("dryRun: 'All' runs admission but persists nothing", async () => {
    const ns = await namespace('e2e-dryrun');
    const dry = await core.createNamespacedPod({ namespace: ns, body: restrictedPod('dry'), dryRun: 'All' });
    expect(dry.metadata?.name).toBe('dry');
    // Admission mutated the returned object (ServiceAccount plugin), yet nothing was stored.
    expect(dry.spec?.serviceAccountName).toBe('default');
    expect(await isGone(() => core.readNamespacedPod({ name: 'dry', namespace: ns }))).toBe(true);
    expect((await core.listNamespacedPod({ namespace: ns })).items).toHaveLength(0);
  });
});
