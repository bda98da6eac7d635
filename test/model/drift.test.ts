import { describe, expect, it } from 'vitest';
import { findDrift, findLostOptIn } from '../../src/model/drift.js';
import { owner, replicaSet, storedPod } from '../fakes/workloads.js';

const namespaces = [
  { name: 'shop', labels: { 'mtls-injection': 'enabled' } },
  { name: 'bank', labels: { 'mtls-injection': 'strict' } },
  { name: 'plain' },
  { name: 'kube-system', labels: { 'mtls-injection': 'enabled' } },
];
const excluded = ['kube-system', 'kube-node-lease', 'mtls-injector'];

describe('findDrift', () => {
  it('returns pods without an identity in opted-in namespaces, with the workload that owns each', () => {
    const pods = [
      storedPod('web-7d9f8-a', { owner: owner('ReplicaSet', 'web-7d9f8'), hash: '7d9f8' }),
      storedPod('web-7d9f8-b', { owner: owner('ReplicaSet', 'web-7d9f8'), hash: '7d9f8', injected: true }),
      storedPod('db-0', { namespace: 'bank', owner: owner('StatefulSet', 'db') }),
      storedPod('bare', { namespace: 'bank' }),
      storedPod('job-1', { owner: owner('Job', 'nightly') }),
      storedPod('other', { namespace: 'plain', owner: owner('DaemonSet', 'x') }),
      storedPod('sys', { namespace: 'kube-system', owner: owner('DaemonSet', 'x') }),
      storedPod('unknown-ns', { namespace: 'elsewhere' }),
    ];
    expect(findDrift(namespaces, pods, { excludedNamespaces: excluded })).toEqual([
      { namespace: 'bank', pod: 'bare', uid: 'uid-pod-bare', owner: undefined, restartable: false },
      {
        namespace: 'bank',
        pod: 'db-0',
        uid: 'uid-pod-db-0',
        owner: { kind: 'StatefulSet', name: 'db' },
        restartable: true,
      },
      {
        namespace: 'shop',
        pod: 'job-1',
        uid: 'uid-pod-job-1',
        owner: { kind: 'Job', name: 'nightly' },
        restartable: false,
      },
      {
        namespace: 'shop',
        pod: 'web-7d9f8-a',
        uid: 'uid-pod-web-7d9f8-a',
        owner: { kind: 'Deployment', name: 'web' },
        restartable: true,
      },
    ]);
  });

  it('leaves out finished, terminating and mirror pods, and opted-out pods in enabled namespaces only', () => {
    const optOut = { 'mtls-injector.io/inject': 'false' };
    const pods = [
      storedPod('done', { phase: 'Succeeded' }),
      storedPod('failed', { phase: 'Failed' }),
      storedPod('leaving', { terminating: true }),
      storedPod('mirror', { annotations: { 'kubernetes.io/config.mirror': 'abc' } }),
      storedPod('opted-out', { annotations: optOut }),
      storedPod('strict-opt-out', { namespace: 'bank', annotations: optOut }),
    ];
    expect(findDrift(namespaces, pods, { excludedNamespaces: excluded }).map((d) => d.pod)).toEqual([
      'strict-opt-out',
    ]);
  });

  it('uses ReplicaSets when given', () => {
    const rs = {
      ...replicaSet('api', 'zz'),
      metadata: { ...replicaSet('api', 'zz').metadata, name: 'renamed' },
    };
    const pod = storedPod('p', { owner: { ...owner('ReplicaSet', 'renamed'), uid: rs.metadata.uid ?? '' } });
    expect(
      findDrift(namespaces, [pod], { excludedNamespaces: excluded, replicaSets: [rs] })[0]?.owner,
    ).toEqual({
      kind: 'Deployment',
      name: 'api',
    });
  });
});

describe('findLostOptIn', () => {
  it('finds namespaces that lost the label while injected pods still run there (G5)', () => {
    const pods = [
      storedPod('b', { namespace: 'plain', injected: true }),
      storedPod('a', { namespace: 'plain', injected: true }),
      storedPod('self', { namespace: 'plain', injected: true, optIn: true }),
      storedPod('gone', { namespace: 'plain', injected: true, terminating: true }),
      storedPod('fine', { namespace: 'shop', injected: true }),
      storedPod('off', { namespace: 'off', injected: true, optIn: true }),
    ];
    const all = [...namespaces, { name: 'off', labels: { 'mtls-injection': 'disabled' } }];
    expect(findLostOptIn(all, pods)).toEqual([
      { namespace: 'off', labelValue: 'disabled', injectedPods: ['off'] },
      { namespace: 'plain', labelValue: undefined, injectedPods: ['a', 'b'] },
    ]);
  });
});
