import { describe, expect, it } from 'vitest';
import { createDriftReporter } from '../../src/rotator/drift-reporter.js';
import { FakeEvents } from '../fakes/kube.js';
import { FakeWorkloadApi, owner, replicaSet, storedPod } from '../fakes/workloads.js';
import { memoryLog } from '../fakes/log.js';

describe('drift reporter', () => {
  it('raises NotInjected on the owning workload and OptInRemoved on a namespace that lost the label', async () => {
    const api = new FakeWorkloadApi();
    api.pods = [
      storedPod('web-7d9f8-a', { owner: owner('ReplicaSet', 'web-7d9f8'), hash: '7d9f8' }),
      storedPod('web-7d9f8-b', { owner: owner('ReplicaSet', 'web-7d9f8'), hash: '7d9f8' }),
      storedPod('bare'),
      storedPod('api-1', { namespace: 'old', injected: true }),
    ];
    api.replicaSets = [replicaSet('web', '7d9f8')];
    const events = new FakeEvents();
    const reporter = createDriftReporter({
      api,
      namespaces: () => [
        { name: 'shop', labels: { 'mtls-injection': 'enabled' } },
        { name: 'old', labels: {} },
      ],
      managedPods: () => api.pods.filter((p) => p.metadata.namespace === 'old'),
      excludedNamespaces: ['kube-system', 'kube-node-lease', 'mtls-injector'],
      events,
      log: memoryLog(),
    });
    expect(await reporter.run()).toEqual({ driftedPods: 3, lostOptInPods: 1 });
    const byReason = events.events.map((e) => `${e.reason} ${e.target.kind}/${e.target.name}`).sort();
    expect(byReason).toEqual([
      'NotInjected Deployment/web',
      'NotInjected Pod/bare',
      'OptInRemoved Namespace/old',
    ]);
    const deployment = events.events.find((e) => e.target.kind === 'Deployment');
    expect(deployment?.message).toContain('2 pod(s) of this Deployment have no mTLS identity');
    expect(deployment?.message).toContain('mtls-injector onboard -n shop');
    expect(events.events.every((e) => e.type === 'Warning')).toBe(true);
  });

  it('lists pods only of opted-in namespaces', async () => {
    const api = new FakeWorkloadApi();
    const reporter = createDriftReporter({
      api,
      namespaces: () => [
        { name: 'plain', labels: {} },
        { name: 'kube-system', labels: { 'mtls-injection': 'enabled' } },
      ],
      managedPods: () => [],
      excludedNamespaces: ['kube-system'],
      events: new FakeEvents(),
      log: memoryLog(),
    });
    expect(await reporter.run()).toEqual({ driftedPods: 0, lostOptInPods: 0 });
    expect(api.calls.filter((c) => c.startsWith('list pods'))).toEqual([]);
  });
});
