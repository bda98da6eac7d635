import { describe, expect, it } from 'vitest';
import type { WorkloadObject } from '../../src/kube/types.js';
import { formatMs, rolloutState, waitForRollout } from '../../src/onboard/rollout.js';
import { FakeClock } from '../fakes/clock.js';
import { FakeWorkloadApi, workload } from '../fakes/workloads.js';

function withStatus(w: WorkloadObject, status: WorkloadObject['status'], generation = 2): WorkloadObject {
  return { ...w, metadata: { ...w.metadata, generation }, status };
}

const deployment = workload('Deployment', 'web', { replicas: 2 });

describe('rolloutState', () => {
  it('waits until the controller observed the new generation', () => {
    const s = rolloutState(
      withStatus(deployment, { observedGeneration: 1, desired: 2, updated: 2, available: 2 }),
      2,
    );
    expect(s.phase).toBe('waiting');
    expect(s.message).toContain('observe generation 2');
  });

  it('waits while no pod from the new template exists', () => {
    const s = rolloutState(
      withStatus(deployment, { observedGeneration: 2, desired: 2, current: 2, updated: 0 }),
      2,
    );
    expect(s.phase).toBe('waiting');
  });

  it('is progressing once the controller created pods from the new template (pods never ready)', () => {
    const s = rolloutState(
      withStatus(deployment, { observedGeneration: 2, desired: 2, current: 3, updated: 1, available: 0 }),
      2,
    );
    expect(s).toEqual({
      phase: 'progressing',
      message: 'progressing, not yet available (1/2 updated, 0 available, 3 total)',
    });
  });

  it('is complete for a Deployment only when old pods are gone', () => {
    const surging = { observedGeneration: 2, desired: 2, current: 3, updated: 2, available: 2 };
    expect(rolloutState(withStatus(deployment, surging), 2).phase).toBe('progressing');
    expect(rolloutState(withStatus(deployment, { ...surging, current: 2 }), 2).phase).toBe('complete');
  });

  it('is complete for a StatefulSet when every pod is ready on the update revision', () => {
    const sts = workload('StatefulSet', 'db', { replicas: 2 });
    const base = { observedGeneration: 2, desired: 2, current: 2, updated: 2, ready: 2, available: 2 };
    expect(
      rolloutState(withStatus(sts, { ...base, currentRevision: 'a', updateRevision: 'b' }), 2).phase,
    ).toBe('progressing');
    expect(
      rolloutState(withStatus(sts, { ...base, currentRevision: 'b', updateRevision: 'b' }), 2).phase,
    ).toBe('complete');
  });

  it('is complete for a DaemonSet when every scheduled pod is updated and available', () => {
    const ds = workload('DaemonSet', 'agent', { replicas: 3 });
    const s = { observedGeneration: 2, desired: 3, current: 3, updated: 3, available: 3 };
    expect(rolloutState(withStatus(ds, s), 2).phase).toBe('complete');
    expect(rolloutState(withStatus(ds, { ...s, available: 1 }), 2).phase).toBe('progressing');
  });

  it('is complete at once for a workload scaled to 0', () => {
    expect(rolloutState(withStatus(deployment, { observedGeneration: 2, desired: 0 }), 2).phase).toBe(
      'complete',
    );
  });

  it('fails when the progress deadline passed, and is blocked when pods cannot be created', () => {
    const deadline = withStatus(deployment, {
      observedGeneration: 2,
      desired: 2,
      updated: 1,
      conditions: [
        { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' },
      ],
    });
    expect(rolloutState(deadline, 2)).toMatchObject({ phase: 'failed' });
    const refused = withStatus(deployment, {
      observedGeneration: 2,
      desired: 2,
      updated: 0,
      conditions: [
        {
          type: 'ReplicaFailure',
          status: 'True',
          reason: 'FailedCreate',
          message: 'admission webhook denied the request',
        },
      ],
    });
    expect(rolloutState(refused, 2)).toEqual({
      phase: 'blocked',
      message: 'cannot create pods (FailedCreate): admission webhook denied the request',
    });
  });
});

describe('waitForRollout', () => {
  const target = { kind: 'Deployment' as const, namespace: 'shop', name: 'web' };
  const options = { timeoutMs: 60_000, pollMs: 1000 };

  function setup(status: (reads: number) => WorkloadObject['status']) {
    const clock = new FakeClock();
    const api = new FakeWorkloadApi().addWorkload(
      { ...deployment, metadata: { ...deployment.metadata, generation: 2 } },
      (_w, reads) => status(reads),
    );
    return { clock, api, deps: { api, clock: clock.read, sleep: clock.sleep } };
  }

  it('returns complete as soon as the rollout completes (a real cluster)', async () => {
    const { deps, clock } = setup((reads) =>
      reads < 3
        ? { observedGeneration: 2, desired: 2, current: 3, updated: 1, available: 1 }
        : { observedGeneration: 2, desired: 2, current: 2, updated: 2, available: 2 },
    );
    const start = clock.now;
    const result = await waitForRollout(deps, target, 2, options);
    expect(result.outcome).toBe('complete');
    expect(clock.now - start).toBe(2000);
    expect(result.elapsedMs).toBe(2000);
  });

  it('reports progressing, not yet available after the timeout when pods never become ready', async () => {
    const { deps, clock } = setup(() => ({
      observedGeneration: 2,
      desired: 2,
      current: 3,
      updated: 1,
      available: 0,
    }));
    const start = clock.now;
    const result = await waitForRollout(deps, target, 2, options);
    expect(result.outcome).toBe('progressing');
    expect(result.message).toBe(
      'progressing, not yet available (1/2 updated, 0 available, 3 total) after 1m',
    );
    expect(clock.now - start).toBe(60_000);
  });

  it('reports a StatefulSet held back by pods that are not ready, with what to do', async () => {
    const clock = new FakeClock();
    const sts = workload('StatefulSet', 'db', { replicas: 1 });
    const api = new FakeWorkloadApi().addWorkload(
      { ...sts, metadata: { ...sts.metadata, generation: 2 } },
      () => ({
        observedGeneration: 2,
        desired: 1,
        current: 1,
        updated: 0,
        ready: 0,
        currentRevision: 'a',
        updateRevision: 'b',
      }),
    );
    const result = await waitForRollout(
      { api, clock: clock.read, sleep: clock.sleep },
      { kind: 'StatefulSet', namespace: 'shop', name: 'db' },
      2,
      options,
    );
    expect(result.outcome).toBe('stalled');
    expect(result.message).toMatch(
      /0 ready\) after 1m; a StatefulSet replaces pods only while all of them are Running and Ready/,
    );
  });

  it('reports stalled when the controller never acts', async () => {
    const { deps } = setup(() => ({
      observedGeneration: 1,
      desired: 2,
      current: 2,
      updated: 2,
      available: 2,
    }));
    const result = await waitForRollout(deps, target, 2, options);
    expect(result.outcome).toBe('stalled');
    expect(result.message).toMatch(/is the controller running\?/);
  });

  it('reports failed when pods stay uncreatable until the timeout', async () => {
    const { deps } = setup(() => ({
      observedGeneration: 2,
      desired: 2,
      updated: 0,
      conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'quota' }],
    }));
    const result = await waitForRollout(deps, target, 2, options);
    expect(result).toMatchObject({ outcome: 'failed' });
    expect(result.message).toContain('still after 1m');
  });

  it('reports failed at once when the workload is deleted', async () => {
    const { deps, api } = setup(() => ({}));
    api.workloads.clear();
    expect(await waitForRollout(deps, target, 2, options)).toMatchObject({ outcome: 'failed', elapsedMs: 0 });
  });

  it('never sleeps past the timeout', async () => {
    const { deps, clock } = setup(() => ({ observedGeneration: 2, desired: 2, updated: 1 }));
    const start = clock.now;
    await waitForRollout(deps, target, 2, { timeoutMs: 2500, pollMs: 1000 });
    expect(clock.now - start).toBe(2500);
  });

  it('stops early when interrupted', async () => {
    const { deps, clock } = setup(() => ({ observedGeneration: 2, desired: 2, updated: 1 }));
    const abort = new AbortController();
    abort.abort();
    const start = clock.now;
    const result = await waitForRollout({ ...deps, signal: abort.signal }, target, 2, options);
    expect(result.message).toMatch(/interrupted/);
    expect(clock.now).toBe(start);
  });
});

describe('formatMs', () => {
  it('formats minutes and seconds', () => {
    expect([formatMs(300_000), formatMs(1500), formatMs(90_000)]).toEqual(['5m', '1.5s', '90s']);
  });
});
