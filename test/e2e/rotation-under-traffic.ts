import { readFileSync } from 'node:fs';
import type { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { waitFor } from './helpers.js';
import {
  caSecretFile,
  certCount,
  kubectl,
  MANAGED,
  managedSecrets,
  opensslVerify,
  plainPod,
  productPods,
  secretFiles,
  secretOf,
  servesChainTo,
} from './product.js';
import { expectNoRestart, moreCalls, podName, type TrafficPair, trafficOf } from './traffic-pair.js';
import { cliAsync, fingerprint, installedConfigFile, whoamiInside, writeReport } from './workloads.js';

// A whole CA rotation, `ca rotate prepare → activate → retire --wait`, under live traffic (a TrafficPair), with
// the CLI run as an operator would: no --config and no setting flag, so it reads the installation
// (src/cli/installation.ts) and every wait is the installed ca.propagationDelay. The steps are separate
// functions so that a suite can run other checks between them: pod-certificates.e2e.test.ts runs one rotation
// around the kubelet's refresh of a pod certificate (activate before it, retire after it) and
// live-traffic.e2e.test.ts runs the same steps in a row on a release without Pod Certificates. Each step's
// failures name the step.

/** `ca rotate status -o json`, as the CLI prints it. */
interface StatusView {
  readonly phase: string;
  readonly steps: readonly {
    readonly step: string;
    readonly state: 'now' | 'waiting' | 'blocked';
    readonly reason: string;
    readonly retryInSeconds?: number;
    readonly startsWait?: boolean;
  }[];
  readonly propagationDelaySeconds: number;
}

async function rotationStatus(): Promise<StatusView> {
  const result = await cliAsync(['ca', 'rotate', 'status', '-o', 'json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusView;
}

function stepOf(s: StatusView, step: string): StatusView['steps'][number] {
  const found = s.steps.find((x) => x.step === step);
  if (found === undefined) throw new Error(`status has no step ${step}: ${JSON.stringify(s)}`);
  return found;
}

/** The installed ca.propagationDelay in seconds, read the way an operator would: the chart's ConfigMap. */
function installedPropagationSeconds(): number {
  const installed = parseYaml(readFileSync(installedConfigFile(), 'utf8')) as {
    ca?: { propagationDelay?: string };
  };
  return Number(/^(\d+)s$/.exec(installed.ca?.propagationDelay ?? '')?.[1]);
}

/** One rotation under traffic, from prepare on: what each step leaves for the next. */
export interface RotationRun {
  readonly pair: TrafficPair;
  /** When prepare started (epoch ms): the traffic window begins here. */
  readonly since: number;
  /** The installed ca.propagationDelay in seconds. */
  readonly delay: number;
  readonly oldRoot: string;
  readonly newRoot: string;
  /** When `activate --wait` succeeded (epoch ms), once it has. */
  activatedAt?: number;
  /** What `activate --wait` and `retire --wait` printed on stderr, once they ran. */
  activateLog?: string;
  retireLog?: string;
}

/** Every workload leaf verifies against every workload's own ca.crt (openssl): any pod trusts any other. */
async function mutualTrust(core: CoreV1Api, pair: TrafficPair): Promise<void> {
  const secrets = [await secretOf(core, pair.server), await secretOf(core, pair.client)];
  for (const a of secrets) for (const b of secrets) opensslVerify(a, secretFiles(b).ca);
}

/** A pod created now in the pair's namespace is injected (the webhook serves, whatever the step). */
async function newPodInjected(core: CoreV1Api, pair: TrafficPair): Promise<void> {
  const pod = await core.createNamespacedPod({
    namespace: pair.ns,
    body: plainPod('during-', { unschedulable: true }),
  });
  expect(pod.metadata?.labels?.[MANAGED]).toBe('true');
}

/**
 * prepare: status before it (steady, the installed delay), then `ca rotate prepare`; every managed Secret
 * trusts both roots, the pair still trusts each other and a new pod is injected.
 */
export async function prepareUnderTraffic(core: CoreV1Api, pair: TrafficPair): Promise<RotationRun> {
  const since = Date.now();
  const delay = installedPropagationSeconds();
  expect(delay, 'the e2e install sets ca.propagationDelay in seconds').toBeGreaterThan(0);
  let s = await rotationStatus();
  expect(s.propagationDelaySeconds).toBe(delay); // the installation's, not the CLI's default (300)
  expect(s.phase).toBe('steady');
  expect(stepOf(s, 'prepare').state).toBe('now');
  expect(stepOf(s, 'activate').state).toBe('blocked');
  const oldRoot = await caSecretFile(core, 'tls.crt');

  const prepare = await cliAsync(['ca', 'rotate', 'prepare']);
  expect(prepare.code, prepare.stderr).toBe(0);
  expect(prepare.stderr).not.toContain('warning:');
  s = await rotationStatus();
  expect(s.phase).toBe('prepared');
  expect(stepOf(s, 'activate').state).toBe('waiting');
  const newRoot = await caSecretFile(core, 'next.crt');
  expect(newRoot).toContain('BEGIN CERTIFICATE');
  await waitFor(
    'every managed Secret trusts both roots',
    async () => (await managedSecrets(core)).every((x) => certCount(secretFiles(x).ca) === 2),
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
  await mutualTrust(core, pair);
  await newPodInjected(core, pair);
  return { pair, since, delay, oldRoot, newRoot };
}

/**
 * activate: status says the wait starts at activate's next attempt, `activate --wait` waits the installed
 * delay while status counts it down; then every leaf is reissued from the new CA.
 */
export async function activateUnderTraffic(core: CoreV1Api, run: RotationRun): Promise<void> {
  const { delay, oldRoot, newRoot, pair } = run;
  // Every Secret trusts the new root: only the delivery wait is left, and it starts at activate's next
  // attempt. status writes nothing, so it says so and, asked twice, still does (no countdown).
  await waitFor(
    'status says the activate wait starts at its next attempt',
    async () => stepOf(await rotationStatus(), 'activate').startsWait === true,
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
  const before = stepOf(await rotationStatus(), 'activate');
  expect(before).toMatchObject({ state: 'waiting', retryInSeconds: delay, startsWait: true });
  expect(before.reason).toContain('the wait starts when you run `mtls-injector ca rotate activate`');

  // activate waits ca.propagationDelay from the moment every Secret trusts the new root (the kubelets write
  // it into the running pods at their next sync of each pod); --wait retries until then, and status counts
  // the wait down meanwhile, never from more than the installed delay.
  const activating = cliAsync(['ca', 'rotate', 'activate', '--wait', '--wait-timeout', '10m']);
  const countdowns: number[] = [];
  await waitFor(
    'status counts the activate wait down',
    async () => {
      const step = stepOf(await rotationStatus(), 'activate');
      if (step.startsWait !== true && step.retryInSeconds !== undefined) countdowns.push(step.retryInSeconds);
      return countdowns.length > 0;
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  const activate = await activating;
  expect(activate.code, activate.stderr).toBe(0);
  run.activatedAt = Date.now();
  run.activateLog = activate.stderr;
  expect(activate.stderr).toMatch(/waiting: every managed Secret trusts the new root, but/);
  expect(activate.stderr).toContain(`ca.propagationDelay is ${delay}s`);
  expect(activate.stderr).not.toContain('warning:');
  for (const left of countdowns) expect(left).toBeLessThanOrEqual(delay);
  const s = await rotationStatus();
  expect(s.phase).toBe('activated');
  expect(stepOf(s, 'prepare').state).toBe('blocked');
  expect(await caSecretFile(core, 'tls.crt')).not.toBe(oldRoot);
  await waitFor(
    'every leaf reissued from the new CA',
    async () => {
      for (const x of await managedSecrets(core)) {
        try {
          opensslVerify(x, newRoot);
        } catch {
          return false;
        }
      }
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  await mutualTrust(core, pair);
  await newPodInjected(core, pair);
}

/**
 * retire: `retire --wait` waits the installed delay again (until the reissued leaves are in every running pod);
 * right after it every webhook pod serves a new-CA certificate; the old root leaves every bundle and the
 * caBundle; the rotation is over (steady).
 */
export async function retireUnderTraffic(core: CoreV1Api, run: RotationRun): Promise<void> {
  const { delay, newRoot, pair } = run;
  // retire waits again, until the reissued leaves are in every running pod: the webhook's serving
  // certificate included, which the API server checks against a caBundle without the old root afterwards.
  const retire = await cliAsync(['ca', 'rotate', 'retire', '--wait', '--wait-timeout', '10m']);
  expect(retire.code, retire.stderr).toBe(0);
  run.retireLog = retire.stderr;
  expect(retire.stderr).toMatch(/waiting: every managed Secret holds a leaf from the new CA, but/);
  expect(retire.stderr).toContain(`ca.propagationDelay is ${delay}s`);
  // No waiting here on the test's side: right after retire every webhook pod serves a new-CA certificate.
  for (const pod of await productPods(core, 'webhook')) {
    expect(await servesChainTo(pod.status?.podIP ?? '', newRoot), pod.metadata?.name).toBe(true);
  }
  await waitFor(
    'the old root gone from every bundle',
    async () => (await managedSecrets(core)).every((x) => certCount(secretFiles(x).ca) === 1),
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
  await waitFor(
    'caBundle holds only the new root',
    () => {
      const text = kubectl([
        'get',
        'mutatingwebhookconfiguration',
        'mtls-injector',
        '-o',
        'jsonpath={.webhooks[0].clientConfig.caBundle}',
      ]);
      return Promise.resolve(certCount(Buffer.from(text, 'base64').toString('utf8')) === 1);
    },
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
  await mutualTrust(core, pair);
  await newPodInjected(core, pair);
  const s = await rotationStatus();
  expect(s.phase).toBe('steady');
  expect(stepOf(s, 'prepare').state).toBe('now');
}

/**
 * After retire: each of the pair's leaves chains to the new root only, in its Secret (openssl) and in the files
 * the running container reads (whoami inside it); zero failed handshakes on either side across the whole
 * rotation, the same pods never restarted. Writes bench/results/e2e-ca-rotation.json.
 */
export async function verifyTrafficThroughRotation(core: CoreV1Api, run: RotationRun): Promise<void> {
  const { pair, newRoot, oldRoot, since } = run;
  if (run.retireLog === undefined) throw new Error('the CA rotation was not retired: nothing to judge');
  const newFingerprint = fingerprint(newRoot);
  for (const pod of [pair.server, pair.client]) {
    const secret = await secretOf(core, pod);
    opensslVerify(secret, newRoot);
    expect(() => opensslVerify(secret, oldRoot)).toThrow(/openssl verify failed/);
    await waitFor(
      `${podName(pod)} reads a leaf from the new CA`,
      () =>
        Promise.resolve(
          JSON.stringify(whoamiInside(pair.ns, podName(pod)).issuedBy) === JSON.stringify([newFingerprint]),
        ),
      { timeoutMs: 60_000, intervalMs: 2000 },
    );
  }

  const until = Date.now();
  await moreCalls(pair, until, 1);
  const t = trafficOf(pair, since, until);
  const report = {
    window: { from: new Date(since).toISOString(), to: new Date(until).toISOString() },
    handshakes: { attempted: t.calls.length, failed: t.failed.length, refusedByServer: t.refused.length },
    serverReloads: t.reloads.length,
    activate: (run.activateLog ?? '').trim().split('\n'),
    retire: run.retireLog.trim().split('\n'),
  };
  writeReport('e2e-ca-rotation', report);
  console.log('CA rotation under live traffic:', JSON.stringify(report));
  expect(t.calls.length).toBeGreaterThan(60);
  expect(t.failed).toEqual([]);
  expect(t.refused).toEqual([]);
  await expectNoRestart(core, [pair.server, pair.client]);
}
