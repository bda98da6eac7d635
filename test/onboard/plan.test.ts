import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import { excludedNamespaces, injectionSettings } from '../../src/config/injection.js';
import type { PodObject } from '../../src/kube/types.js';
import type { ReplicaSetObject, WorkloadObject } from '../../src/kube/types.js';
import { podOwner } from '../../src/model/owners.js';
import { type PlanInput, planOnboarding } from '../../src/onboard/plan.js';
import { owner, replicaSet, storedPod, workload } from '../fakes/workloads.js';

const config = loadConfig({});
const enabled = { 'mtls-injection': 'enabled' };

function input(
  overrides: Partial<PlanInput> & { pods: PodObject[]; workloads: WorkloadObject[] },
): PlanInput {
  return {
    namespace: 'shop',
    namespaceLabels: enabled,
    replicaSets: [] as ReplicaSetObject[],
    settings: injectionSettings(config),
    excludedNamespaces: excludedNamespaces(config),
    force: false,
    ...overrides,
  };
}

/** A Deployment `name` with `count` pods through ReplicaSet `<name>-abc12`. */
function deploymentWithPods(name: string, count: number, podOptions: Parameters<typeof storedPod>[1] = {}) {
  const rs = replicaSet(name, 'abc12');
  const pods = Array.from({ length: count }, (_, i) =>
    storedPod(`${name}-abc12-p${i}`, {
      owner: owner('ReplicaSet', `${name}-abc12`),
      hash: 'abc12',
      ...podOptions,
    }),
  );
  return { deployment: workload('Deployment', name, { replicas: count }), rs, pods };
}

describe('planOnboarding', () => {
  it('refuses a namespace that is not opted in, saying how to label it', () => {
    const d = deploymentWithPods('web', 2);
    const plan = planOnboarding(input({ namespaceLabels: {}, workloads: [d.deployment], pods: d.pods }));
    expect(plan.refused).toMatch(/not opted in \(it has no label\)/);
    expect(plan.refused).toContain('kubectl label namespace shop mtls-injection=enabled');
    expect(plan.refused).toContain('--force');
    expect(plan.workloads).toEqual([]);
  });

  it('refuses a namespace whose label has another value', () => {
    const plan = planOnboarding(
      input({ namespaceLabels: { 'mtls-injection': 'disabled' }, workloads: [], pods: [] }),
    );
    expect(plan.refused).toContain('has mtls-injection=disabled');
  });

  it('refuses excluded namespaces even with --force', () => {
    const plan = planOnboarding(input({ namespace: 'kube-system', force: true, workloads: [], pods: [] }));
    expect(plan.refused).toMatch(/never injected/);
  });

  it('with --force in an unlabelled namespace, restarts only workloads whose pods opt in themselves', () => {
    const a = deploymentWithPods('a', 1, { optIn: true });
    const b = deploymentWithPods('b', 1);
    const plan = planOnboarding(
      input({
        namespaceLabels: {},
        force: true,
        workloads: [a.deployment, b.deployment],
        replicaSets: [a.rs, b.rs],
        pods: [...a.pods, ...b.pods],
      }),
    );
    expect(plan.refused).toBeUndefined();
    expect(plan.workloads.map((w) => [w.name, w.action, w.reason])).toEqual([
      ['a', 'restart', 'not_injected'],
      ['b', 'skip', 'not_selected'],
    ]);
  });

  it('restarts Deployments (through their ReplicaSet), StatefulSets and DaemonSets with pods lacking an identity', () => {
    const d = deploymentWithPods('web', 2);
    const sts = workload('StatefulSet', 'db', { replicas: 1 });
    const ds = workload('DaemonSet', 'agent', { replicas: 1 });
    const plan = planOnboarding(
      input({
        workloads: [ds, sts, d.deployment],
        replicaSets: [d.rs],
        pods: [
          ...d.pods,
          storedPod('db-0', { owner: owner('StatefulSet', 'db') }),
          storedPod('agent-x', { owner: owner('DaemonSet', 'agent') }),
        ],
      }),
    );
    expect(plan.mode).toBe('enabled');
    expect(plan.workloads.map((w) => `${w.kind}/${w.name}:${w.action}`)).toEqual([
      'Deployment/web:restart',
      'StatefulSet/db:restart',
      'DaemonSet/agent:restart',
    ]);
    expect(plan.workloads[0]).toMatchObject({
      reason: 'not_injected',
      pods: 2,
      podsWithoutIdentity: ['web-abc12-p0', 'web-abc12-p1'],
      webhookReason: undefined,
    });
  });

  it('skips workloads whose pods are all injected, and workloads without pods', () => {
    const done = deploymentWithPods('done', 2, { injected: true });
    const zero = workload('Deployment', 'zero', { replicas: 0 });
    const nodeless = { ...workload('DaemonSet', 'agent'), status: { observedGeneration: 1, desired: 0 } };
    const plan = planOnboarding(
      input({ workloads: [done.deployment, zero, nodeless], replicaSets: [done.rs], pods: done.pods }),
    );
    const byName = Object.fromEntries(plan.workloads.map((w) => [w.name, w]));
    expect(byName['done']).toMatchObject({ action: 'skip', reason: 'all_injected' });
    expect(byName['zero']).toMatchObject({ action: 'skip', reason: 'no_pods' });
    expect(byName['zero']?.message).toMatch(/0 replicas/);
    expect(byName['agent']).toMatchObject({ action: 'skip', reason: 'no_pods' });
  });

  it('restarts a workload with some pods injected and some not', () => {
    const d = deploymentWithPods('web', 1);
    const injected = storedPod('web-abc12-ok', {
      owner: owner('ReplicaSet', 'web-abc12'),
      hash: 'abc12',
      injected: true,
    });
    const plan = planOnboarding(
      input({ workloads: [d.deployment], replicaSets: [d.rs], pods: [...d.pods, injected] }),
    );
    expect(plan.workloads[0]).toMatchObject({
      action: 'restart',
      pods: 2,
      podsWithoutIdentity: ['web-abc12-p0'],
    });
  });

  it('ignores terminating and finished pods', () => {
    const d = deploymentWithPods('web', 1, { terminating: true });
    const job = storedPod('job-1', { owner: owner('Job', 'nightly'), phase: 'Succeeded' });
    const plan = planOnboarding(
      input({ workloads: [d.deployment], replicaSets: [d.rs], pods: [...d.pods, job] }),
    );
    expect(plan.workloads[0]).toMatchObject({ action: 'skip', reason: 'no_pods' });
    expect(plan.unmanagedPods).toEqual([]);
  });

  it('never plans a restart the webhook would not inject (opted-out pods)', () => {
    const d = deploymentWithPods('web', 1, { annotations: { 'mtls-injector.io/inject': 'false' } });
    const plan = planOnboarding(input({ workloads: [d.deployment], replicaSets: [d.rs], pods: d.pods }));
    expect(plan.workloads[0]).toMatchObject({
      action: 'skip',
      reason: 'webhook_would_skip',
      webhookReason: 'opted_out',
    });
  });

  it('never plans a restart the webhook would refuse (opt-out in a strict namespace)', () => {
    const d = deploymentWithPods('web', 1, { annotations: { 'mtls-injector.io/inject': 'false' } });
    const plan = planOnboarding(
      input({
        namespaceLabels: { 'mtls-injection': 'strict' },
        workloads: [d.deployment],
        replicaSets: [d.rs],
        pods: d.pods,
      }),
    );
    expect(plan.mode).toBe('strict');
    expect(plan.workloads[0]).toMatchObject({
      action: 'skip',
      reason: 'webhook_would_deny',
      webhookReason: 'opt_out_denied',
    });
    expect(plan.workloads[0]?.message).toMatch(/would refuse/);
  });

  it('skips paused Deployments and OnDelete StatefulSets with what to do', () => {
    const d = deploymentWithPods('web', 1);
    const paused = { ...d.deployment, spec: { ...d.deployment.spec, paused: true } };
    const sts = workload('StatefulSet', 'db', { replicas: 1, strategy: 'OnDelete' });
    const plan = planOnboarding(
      input({
        workloads: [paused, sts],
        replicaSets: [d.rs],
        pods: [...d.pods, storedPod('db-0', { owner: owner('StatefulSet', 'db') })],
      }),
    );
    const byName = Object.fromEntries(plan.workloads.map((w) => [w.name, w]));
    expect(byName['web']).toMatchObject({ reason: 'paused' });
    expect(byName['web']?.message).toContain('kubectl rollout resume');
    expect(byName['db']).toMatchObject({ reason: 'on_delete' });
    expect(byName['db']?.message).toContain('db-0');
  });

  it('reports pods no restart can fix (bare pods, Jobs, ReplicaSets without a Deployment), not opted-out ones', () => {
    const bareRs: ReplicaSetObject = { metadata: { name: 'solo', namespace: 'shop', uid: 'uid-solo' } };
    const plan = planOnboarding(
      input({
        workloads: [],
        replicaSets: [bareRs],
        pods: [
          storedPod('bare'),
          storedPod('job-x', { owner: owner('Job', 'nightly') }),
          storedPod('solo-1', { owner: owner('ReplicaSet', 'solo') }),
          storedPod('done', { injected: true }),
          storedPod('out', { annotations: { 'mtls-injector.io/inject': 'false' } }),
        ],
      }),
    );
    expect(plan.unmanagedPods.map((p) => [p.name, p.owner?.kind ?? null])).toEqual([
      ['bare', null],
      ['job-x', 'Job'],
      ['solo-1', 'ReplicaSet'],
    ]);
    expect(plan.unmanagedPods[0]?.message).toMatch(/bare pod/);
  });
});

describe('podOwner', () => {
  it('follows Pod → ReplicaSet → Deployment through the ReplicaSet objects', () => {
    const rs = {
      metadata: {
        name: 'odd-name',
        namespace: 'shop',
        uid: 'uid-rs',
        ownerReferences: [owner('Deployment', 'web')],
      },
    };
    const pod = storedPod('p', { owner: { ...owner('ReplicaSet', 'odd-name'), uid: 'uid-rs' } });
    expect(podOwner(pod, [rs])).toEqual({ restartable: true, kind: 'Deployment', name: 'web' });
  });

  it('without ReplicaSets, derives the Deployment from the pod-template-hash naming', () => {
    const pod = storedPod('p', { owner: owner('ReplicaSet', 'web-7d9f8'), hash: '7d9f8' });
    expect(podOwner(pod)).toEqual({ restartable: true, kind: 'Deployment', name: 'web' });
    const other = storedPod('q', { owner: owner('ReplicaSet', 'handmade') });
    expect(podOwner(other)).toEqual({ restartable: false, kind: 'ReplicaSet', name: 'handmade' });
  });

  it('answers undefined for a bare pod and ignores owners from other API groups', () => {
    expect(podOwner(storedPod('bare'))).toBeUndefined();
    const custom = storedPod('c', { owner: owner('StatefulSet', 'x', 'apps.kruise.io/v1beta1') });
    expect(podOwner(custom)).toEqual({ restartable: false, kind: 'StatefulSet', name: 'x' });
  });
});
