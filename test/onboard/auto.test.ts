import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import { excludedNamespaces, injectionSettings } from '../../src/config/injection.js';
import type { WorkloadObject } from '../../src/kube/types.js';
import { createAutoOnboarder } from '../../src/onboard/auto.js';
import { gainedOptIn } from '../../src/model/selection.js';
import { memoryLog } from '../fakes/log.js';
import { FakeClock } from '../fakes/clock.js';
import { FakeWorkloadApi, owner, storedPod, workload } from '../fakes/workloads.js';

const config = loadConfig({});
const rolledOut = (w: WorkloadObject): WorkloadObject['status'] => ({
  observedGeneration: w.metadata.generation,
  desired: 1,
  current: 1,
  updated: 1,
  ready: 1,
  available: 1,
});

/** Namespaces a and b (enabled), each with two StatefulSets whose pods lack an identity; rollouts finish at once. */
function setup() {
  const clock = new FakeClock();
  const api = new FakeWorkloadApi();
  for (const ns of ['a', 'b']) {
    api.addNamespace(ns, { 'mtls-injection': 'enabled' });
    for (const name of ['one', 'two']) {
      api.addWorkload(workload('StatefulSet', name, { namespace: ns, replicas: 1 }), rolledOut);
      api.pods.push(storedPod(`${name}-0`, { namespace: ns, owner: owner('StatefulSet', name) }));
    }
  }
  const restarts: { at: number; what: string }[] = [];
  api.onRestart = (w) =>
    restarts.push({ at: clock.now, what: `${w.metadata.namespace ?? ''}/${w.metadata.name ?? ''}` });
  const log = memoryLog();
  const onboarder = createAutoOnboarder({
    api,
    clock: clock.read,
    sleep: clock.sleep,
    settings: injectionSettings(config),
    excludedNamespaces: excludedNamespaces(config),
    log,
    minIntervalMs: 30_000,
    pollMs: 1000,
  });
  return { clock, api, restarts, log, onboarder };
}

describe('createAutoOnboarder', () => {
  it('restarts one workload at a time with at least minIntervalMs between restarts, across namespaces', async () => {
    const { clock, restarts, onboarder } = setup();
    const start = clock.now;
    onboarder.enqueue('a');
    onboarder.enqueue('b');
    await onboarder.idle();
    expect(restarts.map((r) => r.what)).toEqual(['a/one', 'a/two', 'b/one', 'b/two']);
    expect(restarts.map((r) => r.at - start)).toEqual([0, 30_000, 60_000, 90_000]);
  });

  it('queues a namespace once while it waits', async () => {
    const { onboarder, restarts } = setup();
    onboarder.enqueue('a');
    onboarder.enqueue('b');
    onboarder.enqueue('b');
    expect(onboarder.pending()).toEqual(['b']);
    await onboarder.idle();
    expect(restarts).toHaveLength(4);
  });

  it('logs a namespace it cannot onboard and goes on with the next', async () => {
    const { api, onboarder, restarts, log } = setup();
    api.addNamespace('plain');
    onboarder.enqueue('gone');
    onboarder.enqueue('plain');
    onboarder.enqueue('a');
    await onboarder.idle();
    expect(restarts.map((r) => r.what)).toEqual(['a/one', 'a/two']);
    expect(
      log.lines.find((l) => l.msg === 'onboarding: namespace could not be onboarded')?.fields,
    ).toMatchObject({
      namespace: 'gone',
    });
    expect(log.lines.find((l) => l.msg === 'onboarding: skipped namespace')?.fields).toMatchObject({
      namespace: 'plain',
    });
  });

  it('restarts nothing more once cancelled (leadership lost), and starts afresh on the next enqueue', async () => {
    const { api, onboarder, restarts } = setup();
    api.onRestart = (w) => {
      restarts.push({ at: 0, what: `${w.metadata.namespace ?? ''}/${w.metadata.name ?? ''}` });
      if (restarts.length === 1) onboarder.cancel(); // leadership lost right after the first restart
    };
    onboarder.enqueue('a');
    onboarder.enqueue('b');
    await onboarder.idle();
    expect(restarts.map((r) => r.what)).toEqual(['a/one']);
    expect(onboarder.pending()).toEqual([]);

    onboarder.enqueue('b'); // leading again
    await onboarder.idle();
    expect(restarts.map((r) => r.what)).toEqual(['a/one', 'b/one', 'b/two']);
  });

  it('reports each workload to onWorkload', async () => {
    const { api, clock } = setup();
    const seen: string[] = [];
    const onboarder = createAutoOnboarder({
      api,
      clock: clock.read,
      sleep: clock.sleep,
      settings: injectionSettings(config),
      excludedNamespaces: [],
      log: memoryLog(),
      onWorkload: (ns, w) => seen.push(`${ns}/${w.name}:${w.outcome}`),
    });
    onboarder.enqueue('a');
    await onboarder.idle();
    expect(seen).toEqual(['a/one:complete', 'a/two:complete']);
  });
});

describe('gainedOptIn', () => {
  it('is true only when a namespace goes from not opted in to enabled or strict', () => {
    expect(gainedOptIn(undefined, { 'mtls-injection': 'enabled' })).toBe(true);
    expect(gainedOptIn({ 'mtls-injection': 'off' }, { 'mtls-injection': 'strict' })).toBe(true);
    expect(gainedOptIn({ 'mtls-injection': 'enabled' }, { 'mtls-injection': 'strict' })).toBe(false);
    expect(gainedOptIn({ 'mtls-injection': 'enabled' }, {})).toBe(false);
    expect(gainedOptIn({}, { other: 'x' })).toBe(false);
  });
});
