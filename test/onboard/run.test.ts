import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import { excludedNamespaces, injectionSettings } from '../../src/config/injection.js';
import type { PodObject } from '../../src/kube/types.js';
import { RESTARTED_AT_ANNOTATION, restartPatchBody } from '../../src/kube/workloads.js';
import { type WorkloadObject } from '../../src/kube/types.js';
import { renderFooter, renderOnboardJson, renderWorkload } from '../../src/onboard/render.js';
import { onboardFailed, type OnboardOptions, rfc3339, runOnboard } from '../../src/onboard/run.js';
import { FakeClock } from '../fakes/clock.js';
import { FakeWorkloadApi, owner, replicaSet, storedPod, workload } from '../fakes/workloads.js';

const config = loadConfig({});
const options: OnboardOptions = {
  namespace: 'shop',
  dryRun: false,
  force: false,
  timeoutMs: 30_000,
  pollMs: 1000,
  settings: injectionSettings(config),
  excludedNamespaces: excludedNamespaces(config),
};

const rolledOut = (w: WorkloadObject): WorkloadObject['status'] => ({
  observedGeneration: w.metadata.generation,
  desired: 2,
  current: 2,
  updated: 2,
  available: 2,
});
const neverReady = (w: WorkloadObject): WorkloadObject['status'] => ({
  observedGeneration: w.metadata.generation,
  desired: 1,
  current: 1,
  updated: 1,
  available: 0,
});

/** A StatefulSet re-creates a pod under the same name, with a new uid. */
function withUid(pod: PodObject, uid: string): PodObject {
  return { ...pod, metadata: { ...pod.metadata, uid } };
}

/** shop (enabled): Deployment web (2 pods via web-abc12), StatefulSet db (1 pod), none injected. */
function cluster(clock: FakeClock, labels: Record<string, string> = { 'mtls-injection': 'enabled' }) {
  const api = new FakeWorkloadApi().addNamespace('shop', labels);
  api.addWorkload(workload('Deployment', 'web'), (w, reads) => (reads >= 3 ? rolledOut(w) : neverReady(w)));
  api.addWorkload(workload('StatefulSet', 'db', { replicas: 1 }), neverReady);
  api.replicaSets = [replicaSet('web', 'abc12'), replicaSet('web', 'new99')];
  // Created in the same second as the restarts: "new" is told by uid, not by timestamp.
  const created = new Date(clock.now).toISOString();
  api.pods = [
    storedPod('web-abc12-a', { owner: owner('ReplicaSet', 'web-abc12'), hash: 'abc12', created }),
    storedPod('web-abc12-b', { owner: owner('ReplicaSet', 'web-abc12'), hash: 'abc12', created }),
    storedPod('db-0', { owner: owner('StatefulSet', 'db'), created }),
  ];
  // The controller and the webhook: a restart creates one injected pod from the new template.
  api.onRestart = (w) => {
    const created = new Date(clock.now).toISOString();
    const name = w.metadata.name ?? '';
    api.pods.push(
      w.kind === 'Deployment'
        ? storedPod(`${name}-new99-x`, {
            owner: owner('ReplicaSet', `${name}-new99`),
            hash: 'new99',
            injected: true,
            created,
          })
        : withUid(
            storedPod(`${name}-0`, { owner: owner(w.kind, name), injected: true, created }),
            `uid-${name}-0-v2`,
          ),
    );
  };
  return { api, deps: { api, clock: clock.read, sleep: clock.sleep } };
}

describe('runOnboard', () => {
  it('restarts one workload at a time: the next restart only after the previous rollout was watched', async () => {
    const clock = new FakeClock();
    const { api, deps } = cluster(clock);
    const report = await runOnboard(deps, options);

    const restarts = api.calls.filter((c) => c.startsWith('restart'));
    expect(restarts).toEqual([
      `restart Deployment/web ${rfc3339(Date.parse('2026-11-23T00:00:00Z'))}`,
      `restart StatefulSet/db ${rfc3339(Date.parse('2026-11-23T00:00:02Z'))}`,
    ]);
    const firstDbRestart = api.calls.indexOf(restarts[1] ?? '');
    const lastWebRead = api.calls.lastIndexOf('get Deployment/web');
    expect(lastWebRead).toBeLessThan(firstDbRestart);

    expect(report.workloads.map((w) => [w.kind, w.name, w.outcome])).toEqual([
      ['Deployment', 'web', 'complete'],
      ['StatefulSet', 'db', 'progressing'],
    ]);
    expect(report.workloads[0]).toMatchObject({ newPods: 1, newPodsInjected: 1, elapsedMs: 2000 });
    expect(report.workloads[1]).toMatchObject({ newPods: 1, newPodsInjected: 1 });
    expect(report.workloads[1]?.outcomeMessage).toMatch(/^progressing, not yet available .* after 30s$/);
    expect(report.summary).toMatchObject({ complete: 1, progressing: 1, failed: 0 });
    expect(onboardFailed(report)).toBe(false);
  });

  it('writes the restartedAt pod-template annotation the way kubectl rollout restart does', async () => {
    const clock = new FakeClock(Date.parse('2026-11-23T10:20:30.456Z'));
    const { api, deps } = cluster(clock);
    await runOnboard(deps, options);
    const web = api.workloads.get('Deployment/shop/web');
    expect(web?.spec.templateAnnotations).toEqual({ [RESTARTED_AT_ANNOTATION]: '2026-11-23T10:20:30Z' });
    expect(web?.metadata.generation).toBe(2);
    expect(restartPatchBody('2026-11-23T10:20:30Z')).toEqual({
      spec: {
        template: {
          metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-23T10:20:30Z' } },
        },
      },
    });
  });

  it('a failed restart is reported, the run goes on, and the exit status is a failure', async () => {
    const clock = new FakeClock();
    const { api, deps } = cluster(clock);
    api.restartFaults.set('Deployment/shop/web', 403);
    const report = await runOnboard(deps, options);
    expect(report.workloads[0]).toMatchObject({ name: 'web', outcome: 'failed', restartedAt: null });
    expect(report.workloads[0]?.outcomeMessage).toMatch(/^restart failed: fake API: HTTP 403/);
    expect(report.workloads[1]).toMatchObject({ name: 'db', outcome: 'progressing' });
    expect(onboardFailed(report)).toBe(true);
    expect(renderWorkload(report.workloads[0]!)).toMatch(/^✖ Deployment\/web: not restarted; restart failed/);
  });

  it('says when the new pods were not injected (webhook down)', async () => {
    const clock = new FakeClock();
    const { api, deps } = cluster(clock);
    api.onRestart = (w) => {
      api.pods.push(
        storedPod(`${w.metadata.name ?? ''}-new`, {
          owner: owner(w.kind, w.metadata.name ?? ''),
          created: new Date(clock.now).toISOString(),
        }),
      );
    };
    const report = await runOnboard(deps, options);
    expect(report.workloads[1]).toMatchObject({ name: 'db', newPods: 1, newPodsInjected: 0 });
    expect(report.workloads[1]?.outcomeMessage).toContain(
      'is the webhook running? (mtls-injector check -n shop)',
    );
  });

  it('--dry-run lists what it would restart and why, and writes nothing', async () => {
    const clock = new FakeClock();
    const { api, deps } = cluster(clock);
    const report = await runOnboard(deps, { ...options, dryRun: true });
    expect(api.calls.some((c) => c.startsWith('restart'))).toBe(false);
    expect(report.workloads.map((w) => w.outcome)).toEqual(['dry_run', 'dry_run']);
    expect(renderWorkload(report.workloads[0]!)).toBe(
      '→ Deployment/web: would restart [not_injected] 2 of 2 pod(s) have no identity; the webhook would inject them now (web-abc12-a, web-abc12-b)\n',
    );
    expect(renderFooter(report)).toBe(
      'dry run: 2 workload(s) would be restarted, 0 skipped; nothing was changed\n',
    );
  });

  it('refuses a namespace that is not opted in: nothing restarted, failure status', async () => {
    const clock = new FakeClock();
    const { api, deps } = cluster(clock, {});
    const report = await runOnboard(deps, options);
    expect(report.refused).toMatch(/not opted in/);
    expect(api.calls.some((c) => c.startsWith('restart'))).toBe(false);
    expect(onboardFailed(report)).toBe(true);
    expect(renderFooter(report)).toMatch(/^✖ refused: namespace shop is not opted in/);
  });

  it('fails with a usage error for a namespace that does not exist', async () => {
    const clock = new FakeClock();
    const { deps } = cluster(clock);
    await expect(runOnboard(deps, { ...options, namespace: 'nope' })).rejects.toMatchObject({
      code: 'MTLS_ERR_USAGE',
    });
  });

  it('awaits beforeRestart before every restart and skips the rest once interrupted', async () => {
    const clock = new FakeClock();
    const { api, deps } = cluster(clock);
    const abort = new AbortController();
    let gates = 0;
    const report = await runOnboard(
      {
        ...deps,
        signal: abort.signal,
        beforeRestart: () => {
          gates += 1;
          if (gates === 2) abort.abort();
          return Promise.resolve();
        },
      },
      options,
    );
    expect(gates).toBe(2);
    expect(api.calls.filter((c) => c.startsWith('restart'))).toHaveLength(1);
    expect(report.workloads[1]).toMatchObject({
      outcome: 'skipped',
      outcomeMessage: 'interrupted before its turn',
    });
  });

  it('prints a stable JSON schema', async () => {
    const clock = new FakeClock();
    const { deps } = cluster(clock);
    const progress: string[] = [];
    const report = await runOnboard({ ...deps, progress: (w) => progress.push(w.name) }, options);
    expect(progress).toEqual(['web', 'db']);
    const json = JSON.parse(renderOnboardJson(report)) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([
      'schemaVersion',
      'namespace',
      'mode',
      'dryRun',
      'refused',
      'workloads',
      'unmanagedPods',
      'summary',
    ]);
    expect(json).toMatchObject({
      schemaVersion: 1,
      namespace: 'shop',
      mode: 'enabled',
      dryRun: false,
      refused: null,
    });
    const first = (json['workloads'] as Record<string, unknown>[])[0] ?? {};
    expect(Object.keys(first).sort()).toEqual(
      [
        'action',
        'elapsedMs',
        'kind',
        'message',
        'name',
        'newPods',
        'newPodsInjected',
        'outcome',
        'outcomeMessage',
        'pods',
        'podsWithoutIdentity',
        'reason',
        'restartedAt',
        'webhookReason',
      ].sort(),
    );
    expect(Object.keys(json['summary'] as object).sort()).toEqual(
      ['complete', 'dry_run', 'failed', 'progressing', 'skipped', 'stalled'].sort(),
    );
  });
});

describe('rfc3339', () => {
  it('drops the milliseconds, in UTC', () => {
    expect(rfc3339(Date.parse('2026-01-02T03:04:05.999Z'))).toBe('2026-01-02T03:04:05Z');
  });
});
