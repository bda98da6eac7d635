/**
 * The hardening of docs/threat-model.md on the real API server, as an attacker with pod create/patch rights
 * would try it:
 *   - a pod labelled mtls-injector.io/managed=true by its author in an unlabelled namespace and in kube-system
 *     gets no Secret (the rotator says so with an IssueRefused Event);
 *   - naming a neighbour's Secret: the API server's ValidatingAdmissionPolicy refuses the annotation on
 *     UPDATE, the webhook overwrites it on CREATE, a copied volume in an enabled namespace is a reported
 *     collision that leaves the Secret with its owner (who keeps renewing), and in a strict namespace the
 *     webhook is called after all (matchConditions) and points the volume at the pod's own Secret;
 *   - two rotators, the leader's API traffic stalled (a proxy that stops passing bytes): never both lead, and
 *     nothing the stalled leader started reaches the API server after the takeover.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { apiError, loadKubeConfig, statusMessage, testNamespaces, waitFor } from '../helpers.js';
import { kubectl, plainPod, productEnv, repoRoot, scaleProduct, secretOf } from '../product.js';
import { isStateWrite, StallProxy } from '../stall-proxy.js';

const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const coordination = kc.makeApiClient(CoordinationV1Api);
const namespaces = testNamespaces(core);
const install = (): string => productEnv().installNamespace;
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await namespaces.deleteAll();
});

/** A pod shaped as if the webhook had injected it, written by its author: label, volume, mount. */
function forgedPod(name: string, secretName: string, serviceAccountName = 'default'): V1Pod {
  const pod = plainPod('unused-', { unschedulable: true, serviceAccountName });
  return {
    ...pod,
    metadata: {
      name,
      labels: { 'mtls-injector.io/managed': 'true' },
      annotations: { 'mtls-injector.io/secret': secretName },
    },
    spec: {
      ...pod.spec,
      containers: (pod.spec?.containers ?? []).map((c) => ({
        ...c,
        volumeMounts: [{ name: 'mtls-certs', mountPath: '/var/run/mtls', readOnly: true }],
      })),
      volumes: [{ name: 'mtls-certs', secret: { secretName } }],
    },
  };
}

/** Waits for an Event with `reason` on the pod `name` in `ns`. */
function eventOn(ns: string, name: string, reason: string, timeoutMs = 60_000): Promise<CoreV1Event> {
  return waitFor(
    `Event ${reason} on pod ${ns}/${name}`,
    async () =>
      (
        await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })
      ).items.find((e) => e.reason === reason),
    { timeoutMs, intervalMs: 500 },
  );
}

async function secretOrUndefined(ns: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ namespace: ns, name });
  } catch {
    return undefined;
  }
}

/** Whether the Secret the pod's `mtls-certs` volume names exists. */
async function hasSecret(pod: V1Pod): Promise<boolean> {
  const name = pod.spec?.volumes?.find((v) => v.name === 'mtls-certs')?.secret?.secretName;
  return name !== undefined && (await secretOrUndefined(pod.metadata?.namespace ?? '', name)) !== undefined;
}

function controllerUid(secret: V1Secret | undefined): string | undefined {
  return secret?.metadata?.ownerReferences?.find((o) => o.controller === true)?.uid;
}

describe('what a pod author cannot forge', () => {
  it('gives no Secret to a pod labelled managed by its author in an unlabelled namespace or in kube-system', async () => {
    const plain = await namespaces.create('hard-plain');
    const made: [string, string][] = [];
    for (const ns of [plain, 'kube-system']) {
      const name = `forged-${Math.random().toString(36).slice(2, 8)}`;
      await core.createNamespacedPod({ namespace: ns, body: forgedPod(name, `${name}-mtls`) });
      made.push([ns, name]);
      cleanups.push(async () => {
        await core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 }).catch(() => undefined);
      });
    }
    for (const [ns, name] of made) {
      const refused = await eventOn(ns, name, 'IssueRefused');
      expect(refused.message).toMatch(ns === 'kube-system' ? /is never injected/ : /is not opted in/);
      expect(await secretOrUndefined(ns, `${name}-mtls`), `${ns}/${name}-mtls`).toBeUndefined();
    }
  });

  it("refuses or ignores every attempt at a neighbour's Secret, and the neighbour keeps renewing", async () => {
    const ns = await namespaces.create('hard-nb', { 'mtls-injection': 'enabled' });
    const victim = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('victim-', { unschedulable: true }),
    });
    const victimSecret = await secretOf(core, victim);
    const target = victimSecret.metadata?.name ?? '';
    expect(controllerUid(victimSecret)).toBe(victim.metadata?.uid);

    // UPDATE: the ValidatingAdmissionPolicy (CEL, run by the API server) refuses the annotation and the label.
    const attacker = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('attacker-', { unschedulable: true }),
    });
    const attackerName = attacker.metadata?.name ?? '';
    for (const patch of [
      { metadata: { annotations: { 'mtls-injector.io/secret': target } } },
      { metadata: { labels: { 'mtls-injector.io/managed': null } } },
    ]) {
      let refusal = '';
      try {
        kubectl(['-n', ns, 'patch', 'pod', attackerName, '--type=merge', '-p', JSON.stringify(patch)]);
      } catch (err) {
        refusal = String((err as { stderr?: unknown }).stderr ?? err);
      }
      expect(refusal).toMatch(/ValidatingAdmissionPolicy '.*pod-keys' with binding '.*' denied request/);
    }
    const stored = await core.readNamespacedPod({ namespace: ns, name: attackerName });
    expect(stored.metadata?.annotations?.['mtls-injector.io/secret']).not.toBe(target);

    // CREATE with the neighbour's Secret in the annotation: the webhook writes the pod's own.
    const named = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('named-', {
        unschedulable: true,
        annotations: { 'mtls-injector.io/secret': target },
      }),
    });
    const namedSecret = await secretOf(core, named);
    expect(namedSecret.metadata?.name).not.toBe(target);
    expect(controllerUid(namedSecret)).toBe(named.metadata?.uid);

    // CREATE with a copied volume (the webhook's matchConditions let an injected-looking pod through in an
    // enabled namespace): a collision, reported on both pods; the Secret stays with its owner.
    const copied = `copied-${Math.random().toString(36).slice(2, 8)}`;
    await core.createNamespacedPod({ namespace: ns, body: forgedPod(copied, target) });
    const onCopy = await eventOn(ns, copied, 'SecretCollision');
    expect(onCopy.type).toBe('Warning');
    expect(onCopy.message).toContain(`belongs to pod ${victim.metadata?.name ?? ''}`);
    const onVictim = await eventOn(ns, victim.metadata?.name ?? '', 'SecretCollision');
    expect(onVictim.message).toContain(`Pod ${copied}`);

    // The neighbour keeps renewing (3-minute leaves in this cluster: renewal at 90 s ± 18 s).
    const before = victimSecret.data?.['tls.crt'];
    const renewed = await waitFor(
      `renewal of ${ns}/${target}`,
      async () => {
        const now = await core.readNamespacedSecret({ namespace: ns, name: target });
        return now.data?.['tls.crt'] !== before ? now : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 2000 },
    );
    expect(controllerUid(renewed)).toBe(victim.metadata?.uid);
  }, 240_000);

  it('sends a pod shaped like an injected one to the strict entry: refused, or pointed at its own Secret', async () => {
    // Labelled mtls-injector.io/delivery=secret (createTestNamespace): the strict entry of that label.
    const strict = await namespaces.create('hard-strict', { 'mtls-injection': 'strict' });
    // Label and volume only: the webhook is called (before, the matchConditions let it skip) and refuses.
    const bare = `forged-${Math.random().toString(36).slice(2, 8)}`;
    const refused = await apiError(() =>
      core.createNamespacedPod({ namespace: strict, body: forgedPod(bare, 'someone-elses-mtls') }),
    );
    expect(statusMessage(refused)).toMatch(
      /admission webhook "strict-secret.mtls-injector.io" denied the request: .*volume_conflict/,
    );

    // A full copy of an injected pod (status annotation too): admitted, its volume pointed at its own Secret.
    const copy = forgedPod(`copied-${Math.random().toString(36).slice(2, 8)}`, 'someone-elses-mtls');
    copy.metadata = {
      ...copy.metadata,
      annotations: {
        ...copy.metadata?.annotations,
        'mtls-injector.io/status': JSON.stringify({
          version: 1,
          secret: 'someone-elses-mtls',
          volume: 'mtls-certs',
          initContainer: 'mtls-init',
          containers: ['app'],
          initContainers: [],
        }),
      },
    };
    const created = await core.createNamespacedPod({ namespace: strict, body: copy });
    const name = created.metadata?.name ?? '';
    const volume = created.spec?.volumes?.find((v) => v.name === 'mtls-certs');
    expect(volume?.secret?.secretName).toBe(`${name}-mtls`);
    expect(created.spec?.initContainers?.map((c) => c.name)).toContain('mtls-init');
    const secret = await secretOf(core, created);
    expect(controllerUid(secret)).toBe(created.metadata?.uid);
  });
});

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The leader gauge of a local rotator's /metrics (0 when it does not answer). */
async function leaderGauge(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^mtls_injector_rotator_leader (\d)/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

describe('two rotators, the leader stalled', () => {
  it('never both lead or write; nothing the stalled leader started lands after the takeover', async () => {
    // MTLS_E2E_ROTATOR_MAIN runs another build of the rotator (e.g. of an older commit, to see this test fail).
    const main = process.env['MTLS_E2E_ROTATOR_MAIN'] ?? join(repoRoot, 'dist/main.js');
    expect(statSync(main).mtimeMs, `${main} missing: run npm run build`).toBeGreaterThan(0);
    const server = new URL(kc.getCurrentCluster()?.server ?? '');
    const ca = Buffer.from(kc.getCurrentCluster()?.caData ?? '', 'base64').toString('utf8');
    const dir = mkdtempSync(join(tmpdir(), 'mtls-e2e-stall-'));

    // Two local rotators with exactly the chart's RBAC (a token of its ServiceAccount) and config, each
    // through its own proxy; the chart's rotators are scaled to 0 meanwhile.
    await scaleProduct(core, 'rotator', 0);
    cleanups.push(() => scaleProduct(core, 'rotator', 2));
    const token = kubectl([
      '-n',
      install(),
      'create',
      'token',
      'mtls-injector-rotator',
      '--duration=1h',
    ]).trim();
    const config = (
      await core.readNamespacedConfigMap({ namespace: install(), name: 'mtls-injector-config' })
    ).data?.['config.yaml'];
    // MTLS_E2E_ROTATOR_CONFIG: another config file (an older build does not know every setting of the chart's).
    writeFileSync(
      join(dir, 'config.yaml'),
      process.env['MTLS_E2E_ROTATOR_CONFIG'] === undefined
        ? (config ?? '')
        : readFileSync(process.env['MTLS_E2E_ROTATOR_CONFIG'], 'utf8'),
    );
    const rotators: Record<
      string,
      { proxy: StallProxy; probe: number; process: ChildProcess; log: string[] }
    > = {};
    for (const id of ['e2e-rotator-a', 'e2e-rotator-b']) {
      const proxy = new StallProxy({ host: server.hostname, port: Number(server.port), ca });
      const port = await proxy.start();
      const kubeconfig = join(dir, `${id}.kubeconfig`);
      writeFileSync(
        kubeconfig,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'e2e',
              cluster: {
                server: `https://localhost:${port}`,
                'certificate-authority-data': Buffer.from(proxy.caPem).toString('base64'),
              },
            },
          ],
          users: [{ name: 'rotator', user: { token } }],
          contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'rotator' } }],
          'current-context': 'e2e',
        }),
      );
      const probe = await freePort();
      const child = spawn(
        process.execPath,
        [
          main,
          'rotator',
          '--kubeconfig',
          kubeconfig,
          '--identity',
          id,
          '--config',
          join(dir, 'config.yaml'),
          '--rotator-probe-port',
          String(probe),
          '--probe-host',
          '127.0.0.1',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const log: string[] = [];
      // raw chunks: a batch of log lines may be cut anywhere
      child.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
      child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
      rotators[id] = { proxy, probe, process: child, log };
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM'); // a graceful stop releases the Lease
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        await proxy.stop();
      });
      if (id === 'e2e-rotator-a') {
        await waitFor('e2e-rotator-a to lead', async () => (await leaderGauge(probe)) === 1, {
          timeoutMs: 60_000,
        }).catch((err: unknown) => {
          throw new Error(`${String(err)}; its log:\n${log.join('').split('\n').slice(-20).join('\n')}`);
        });
      }
    }
    const a = rotators['e2e-rotator-a']!;
    const b = rotators['e2e-rotator-b']!;
    await waitFor('e2e-rotator-b to be ready', async () => {
      const r = await fetch(`http://127.0.0.1:${b.probe}/readyz`).catch(() => undefined);
      return r?.status === 200;
    });

    const ns = await namespaces.create('hard-stall', { 'mtls-injection': 'enabled' });
    const first = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('s-', { unschedulable: true }),
    });
    await secretOf(core, first);

    // a's connection goes silent; new pods arrive while it still believes it leads.
    a.proxy.freeze();
    const frozenAt = Date.now();
    const later: V1Pod[] = [];
    for (let i = 0; i < 3; i++)
      later.push(
        await core.createNamespacedPod({ namespace: ns, body: plainPod('s-', { unschedulable: true }) }),
      );

    // Watched until b has taken over and issued for every pod that arrived during the stall (however long a
    // loaded machine takes): the two leader gauges never read 1 together.
    let bLeads = false;
    let issued = false;
    const giveUpAt = frozenAt + 240_000; // a bound for a broken run only; the loop ends on the condition
    while (!(bLeads && issued)) {
      const [la, lb] = await Promise.all([leaderGauge(a.probe), leaderGauge(b.probe)]);
      expect(la === 1 && lb === 1, `both lead ${Date.now() - frozenAt} ms after the stall`).toBe(false);
      bLeads ||= lb === 1;
      if (bLeads && !issued) issued = (await Promise.all(later.map(hasSecret))).every(Boolean);
      if (Date.now() > giveUpAt)
        throw new Error(`after the stall: b leads ${String(bLeads)}, issued for every pod ${String(issued)}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    // The connection recovers: whatever a still held is sent now (recorded on thaw). a follows: it reads the
    // Lease twice through its proxy (a full election round after seeing b's record), and writes nothing.
    const thawedAt = Date.now();
    a.proxy.thaw();
    await waitFor(
      'e2e-rotator-a to read the Lease twice after the thaw',
      () =>
        Promise.resolve(
          a.proxy.forwarded.filter((f) => f.at >= thawedAt && f.method === 'GET' && /\/leases\//.test(f.path))
            .length >= 2,
        ),
      { timeoutMs: 120_000 },
    );
    expect(await leaderGauge(a.probe)).toBe(0);
    expect(await leaderGauge(b.probe)).toBe(1);
    const lease = await coordination.readNamespacedLease({
      namespace: install(),
      name: 'mtls-injector-rotator',
    });
    expect(lease.spec?.holderIdentity).toBe('e2e-rotator-b');
    const aWrites = a.proxy.forwarded.filter(isStateWrite);
    const bWrites = b.proxy.forwarded.filter(isStateWrite);
    expect(
      aWrites.filter((w) => w.at >= frozenAt),
      'writes of a after the stall',
    ).toEqual([]);
    expect(bWrites.length).toBeGreaterThan(0);
    const lastA = Math.max(...aWrites.map((w) => w.at));
    expect(Math.min(...bWrites.map((w) => w.at))).toBeGreaterThan(lastA);
    expect(a.log.join('')).toContain('stepping down');
  }, 300_000);
});
