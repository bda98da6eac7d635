import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type V1Pod, type V1Secret, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LOCK_WAIT_MS, sharesCluster } from './cluster-lock.js';
import { loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import {
  caSecretFile,
  certCount,
  kubectl,
  MANAGED,
  managedSecrets,
  opensslVerify,
  plainPod,
  productPods,
  SECRET_ANNOTATION,
  secretFiles,
  secretOf,
  servesChainTo,
} from './product.js';
import {
  type AppLine,
  appContainer,
  cliAsync,
  deployment,
  fingerprint,
  httpsService,
  installedConfigFile,
  linesOf,
  logLines,
  percentileOf,
  rolledOut,
  serverContainer,
  serviceAccounts,
  whoamiInside,
  writeReport,
} from './workloads.js';

// What a user sees in a running cluster (issue "the promise, proven in running pods", scenarios 1–3): a server
// and a client Deployment in an opted-in namespace talk mTLS with no change to the app, keep talking across
// certificate renewals and a whole CA rotation, and never fail a handshake. The client calls once a second
// from the start of this file to its end; every call and every handshake is in the containers' logs.
const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const namespaces = testNamespaces(core);

let ns = '';
let clusterIp = '';
let server: V1Pod;
let client: V1Pod;
const spiffe = (sa: string, namespace = ns): string => `spiffe://cluster.local/ns/${namespace}/sa/${sa}`;
const name = (pod: V1Pod): string => pod.metadata?.name ?? '';

/** Every version of the server's and client's Secrets seen on a watch: serial and when it was written. */
const versions = new Map<string, { serial: string; at: number }[]>();
let stopWatch: (() => void) | undefined;

beforeAll(async () => {
  ns = await namespaces.create('traffic', { 'mtls-injection': 'enabled' });
  await serviceAccounts(core, ns, ['server', 'client', 'other']);
  clusterIp = await httpsService(core, ns, 'server');
  // Non-root users: the server with an fsGroup, the client without one (the Secret's file mode differs).
  await apps.createNamespacedDeployment({
    namespace: ns,
    // The server lets only the client's identity call it (the app checks the peer's SPIFFE ID itself).
    body: deployment('server', serverContainer(['--allow', spiffe('client')]), {
      serviceAccountName: 'server',
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000 },
    }),
  });
  [server] = (await rolledOut(core, apps, ns, 'server')) as [V1Pod];
  // Hostname verification against the Service's DNS name (a DNS SAN), dialling its ClusterIP (no cluster DNS).
  const url = `https://server.${ns}.svc:8443/`;
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: deployment(
      'client',
      appContainer(['call', '--url', url, '--address', clusterIp, '--interval', '1000']),
      {
        serviceAccountName: 'client',
        securityContext: { runAsUser: 1001, runAsGroup: 1001 },
      },
    ),
  });
  [client] = (await rolledOut(core, apps, ns, 'client')) as [V1Pod];

  const watch = new Watch(kc);
  const request = await watch.watch(
    `/api/v1/namespaces/${ns}/secrets`,
    { labelSelector: `${MANAGED}=true` },
    (_phase: string, secret: V1Secret) => {
      const at = Date.now();
      const secretName = secret.metadata?.name ?? '';
      const serial = new X509Certificate(secretFiles(secret).cert).serialNumber;
      const list = versions.get(secretName) ?? [];
      if (list.at(-1)?.serial !== serial) list.push({ serial, at });
      versions.set(secretName, list);
    },
    () => undefined,
  );
  stopWatch = () => request.abort();
}, 300_000);

afterAll(async () => {
  stopWatch?.();
  await namespaces.deleteAll();
});

/** The serial of the leaf in a pod's Secret now, as openssl reads it. */
async function secretSerial(pod: V1Pod): Promise<string> {
  return opensslVerify(await secretOf(core, pod)).serial.toUpperCase();
}

/** The client's calls and the server's handshakes between `since` and `until` (epoch ms). */
function traffic(since: number, until = Infinity) {
  const calls = linesOf(logLines(ns, name(client)), 'call', since, until);
  const serverLines = logLines(ns, name(server));
  return {
    calls,
    failed: calls.filter((c) => c.ok !== true),
    handshakes: linesOf(serverLines, 'handshake', since, until),
    refused: linesOf(serverLines, 'handshake-refused', since, until),
    reloads: linesOf(serverLines, 'reloaded', since, until),
  };
}

/** Waits for `n` more calls by the client after `since`. */
async function moreCalls(since: number, n: number): Promise<void> {
  await waitFor(`${n} calls after ${new Date(since).toISOString()}`, () =>
    Promise.resolve(linesOf(logLines(ns, name(client)), 'call', since).length >= n),
  );
}

/** A one-off pod of the test app in `namespace`; resolves to its JSON lines once it has Succeeded. */
async function runOnce(
  namespace: string,
  podName: string,
  args: string[],
  extra: { serviceAccountName?: string; secretName?: string } = {},
): Promise<AppLine[]> {
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: podName },
      spec: {
        restartPolicy: 'Never',
        ...(extra.serviceAccountName === undefined ? {} : { serviceAccountName: extra.serviceAccountName }),
        securityContext: { runAsNonRoot: true, runAsUser: 1002 },
        ...(extra.secretName === undefined
          ? {}
          : { volumes: [{ name: 'certs', secret: { secretName: extra.secretName, defaultMode: 0o444 } }] }),
        containers: [
          appContainer(args, {
            ...(extra.secretName === undefined
              ? {}
              : { volumeMounts: [{ name: 'certs', mountPath: '/var/run/mtls', readOnly: true }] }),
          }),
        ],
      },
    },
  });
  await waitFor(
    `pod ${namespace}/${podName} Succeeded`,
    async () => {
      const p = await core.readNamespacedPod({ namespace, name: podName });
      if (p.status?.phase === 'Failed') throw new Error(`pod ${podName} failed: ${JSON.stringify(p.status)}`);
      return p.status?.phase === 'Succeeded';
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  return logLines(namespace, podName);
}

/** A CA and a leaf claiming `spiffeId`, made by openssl: a certificate the cluster's CA never issued. */
function foreignIdentity(spiffeId: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-e2e-foreign-'));
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-days',
    '1',
    '-subj',
    '/O=elsewhere/CN=foreign-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ]);
  run(['req', '-new', ...ec, '-subj', '/O=cluster.local', '-keyout', 'tls.key', '-out', 'leaf.csr']);
  writeFileSync(
    join(dir, 'ext'),
    `subjectAltName=critical,URI:${spiffeId}\nextendedKeyUsage=serverAuth,clientAuth\n`,
  );
  run(
    [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
    ].concat(['-out', 'tls.crt', '-extfile', 'ext']),
  );
  return {
    cert: readFileSync(join(dir, 'tls.crt'), 'utf8'),
    key: readFileSync(join(dir, 'tls.key'), 'utf8'),
  };
}

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

// The whole file shares the cluster (its traffic runs from the first test to the last); the CA rotation
// takes it alone.
const cluster = sharesCluster('live-traffic.e2e.test.ts');

describe('mTLS between injected workloads, under live traffic', () => {
  it('runs a server and a client Deployment with mTLS and no app change; refuses pods without our identity', async () => {
    for (const [pod, sa] of [
      [server, 'server'],
      [client, 'client'],
    ] as const) {
      // mtls-init ran first and passed, then the app container started, as the pod's non-root user.
      const init = pod.status?.initContainerStatuses?.find((c) => c.name === 'mtls-init');
      expect(init?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      const app = pod.status?.containerStatuses?.find((c) => c.name === 'app');
      expect(app?.state?.running).toBeDefined();
      expect(Date.parse(String(app?.state?.running?.startedAt))).toBeGreaterThanOrEqual(
        Date.parse(String(init?.state?.terminated?.finishedAt)),
      );
      expect(kubectl(['-n', ns, 'logs', name(pod), '-c', 'mtls-init'])).toContain(
        `identity ${spiffe(sa)} verified`,
      );
      expect(whoamiInside(ns, name(pod))).toMatchObject({ spiffeId: spiffe(sa), keyMatches: true });
    }
    expect(whoamiInside(ns, name(server)).uid).toBe(1000);
    expect(whoamiInside(ns, name(client)).uid).toBe(1001);
    // The server's certificate names the Service it is behind (DNS SANs from the Service's selector).
    const serverSecret = await secretOf(core, server);
    const sans = execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], {
      input: secretFiles(serverSecret).cert,
      encoding: 'utf8',
    });
    expect(sans).toContain(`DNS:server.${ns}.svc`);

    const since = Date.now();
    await moreCalls(since, 3);
    const { calls, handshakes } = traffic(since);
    const serverSerial = await secretSerial(server);
    const clientSerial = await secretSerial(client);
    for (const call of calls) {
      expect(call).toMatchObject({ ok: true, status: 200, peer: spiffe('server') });
    }
    expect(calls.map((c) => String(c.peerSerial).toUpperCase())).toContain(serverSerial);
    // The server required the client's certificate and logged its SPIFFE ID.
    expect(handshakes.length).toBeGreaterThanOrEqual(3);
    for (const h of handshakes) expect(h.peer).toBe(spiffe('client'));
    expect(handshakes.map((h) => String(h.peerSerial).toUpperCase())).toContain(clientSerial);

    // The client really checks the name: the same server under a name its certificate does not carry fails.
    const wrongName = await runOnce(
      ns,
      'wrong-name',
      ['call', '--url', `https://elsewhere.${ns}.svc:8443/`, '--address', clusterIp, '--count', '1'],
      { serviceAccountName: 'client' },
    );
    expect(wrongName.find((l) => l.event === 'call')).toMatchObject({
      ok: false,
      error: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });

    // From a namespace that did not opt in: a pod with no certificate, and one holding a certificate for the
    // very same SPIFFE ID from another CA (it trusts our CA, so only the server can be the one refusing).
    // A pod of this namespace with a valid identity the server does not allow: refused by the server's check.
    const refusedBefore = traffic(since).refused.length;
    const other = await runOnce(
      ns,
      'other-sa',
      ['call', '--url', `https://server.${ns}.svc:8443/`, '--address', clusterIp, '--count', '1'],
      { serviceAccountName: 'other' },
    );
    expect(other.find((l) => l.event === 'call')).toMatchObject({ ok: false });

    const outside = await namespaces.create('outside');
    const foreign = foreignIdentity(spiffe('client'));
    await core.createNamespacedSecret({
      namespace: outside,
      body: {
        metadata: { name: 'foreign' },
        stringData: {
          'tls.crt': foreign.cert,
          'tls.key': foreign.key,
          'ca.crt': secretFiles(serverSecret).ca,
        },
      },
    });
    const target = ['--url', `https://server.${ns}.svc:8443/`, '--address', clusterIp, '--count', '1'];
    const anonymous = await runOnce(outside, 'anonymous', ['call', ...target, '--anonymous']);
    const impostor = await runOnce(outside, 'impostor', ['call', ...target], { secretName: 'foreign' });
    for (const [podName, lines] of [
      ['anonymous', anonymous],
      ['impostor', impostor],
    ] as const) {
      const pod = await core.readNamespacedPod({ namespace: outside, name: podName });
      expect(pod.spec?.initContainers ?? []).toEqual([]); // not injected: no opt-in
      expect(
        lines.find((l) => l.event === 'call'),
        podName,
      ).toMatchObject({ ok: false });
      expect(lines.at(-1)).toMatchObject({ event: 'summary', attempted: 1, failed: 1 });
    }
    const refused = await waitFor('the server to log the three refusals', () => {
      const now = traffic(since).refused;
      return Promise.resolve(now.length >= refusedBefore + 3 ? now.slice(refusedBefore) : undefined);
    });
    console.log('refused handshakes (server log):', JSON.stringify(refused));
    // In order: a valid identity that is not allowed, no certificate, a certificate from another CA (claiming
    // the client's very SPIFFE ID).
    expect(refused.map((r) => [r.code, r.peer])).toEqual([
      ['SPIFFE_ID_NOT_ALLOWED', spiffe('other')],
      ['NO_CLIENT_CERTIFICATE', undefined],
      [expect.stringMatching(/^UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)/), spiffe('client')],
    ]);
  }, 300_000);

  let renewalEnd = 0;

  it('delivers renewed certificates into the running containers: no failed handshake, no restart', async () => {
    const since = Date.now();
    const serverSecret = server.metadata?.annotations?.[SECRET_ANNOTATION] ?? '';
    const clientSecret = client.metadata?.annotations?.[SECRET_ANNOTATION] ?? '';
    // Until the server reloaded its files twice and the client presented two new certificates.
    const seen = await waitFor(
      'two renewals seen inside each container',
      () => {
        const t = traffic(since);
        const clientSerials = new Set(t.calls.map((c) => String(c.clientSerial)));
        return Promise.resolve(t.reloads.length >= 2 && clientSerials.size >= 3 ? t : undefined);
      },
      { timeoutMs: 540_000, intervalMs: 5000 },
    );
    renewalEnd = Date.now();
    const t = traffic(since, renewalEnd);

    // The kubelet's atomic swap reached the running processes: new serials, the ones the rotator wrote.
    const written = (secret: string) => (versions.get(secret) ?? []).filter((v) => v.at >= since);
    const everWritten = (versions.get(serverSecret) ?? []).map((v) => v.serial);
    for (const r of seen.reloads) expect(everWritten).toContain(String(r.serverSerial));
    // New handshakes present the new certificates: the client saw each reloaded server serial, and the server
    // saw each certificate the client presented.
    const peerSerials = new Set(t.calls.map((c) => String(c.peerSerial)));
    for (const r of t.reloads) expect(peerSerials).toContain(String(r.serverSerial));
    const presented = new Set(t.handshakes.map((h) => String(h.peerSerial)));
    for (const s of new Set(t.calls.map((c) => String(c.clientSerial)))) expect(presented).toContain(s);
    // No handshake failed, on either side.
    expect(t.failed).toEqual([]);
    expect(t.refused).toEqual([]);
    // No restart: the same pods, their app containers never restarted.
    await expectNoRestart([server, client]);

    // How long after the Secret update the running container saw it (or a later version).
    const delays = (secret: string, observed: { at: number; serial: string }[]) => {
      const list = versions.get(secret) ?? [];
      const out: number[] = [];
      list.forEach((v, i) => {
        if (v.at < since) return;
        const later = new Set(list.slice(i).map((x) => x.serial));
        const first = observed.find((o) => o.at >= v.at && later.has(o.serial));
        if (first !== undefined) out.push(first.at - v.at);
      });
      return out;
    };
    const serverDelays = delays(
      serverSecret,
      t.reloads.map((r) => ({ at: Date.parse(r.time), serial: String(r.serverSerial) })),
    );
    const clientDelays = delays(
      clientSecret,
      t.calls.map((c) => ({ at: Date.parse(c.time), serial: String(c.clientSerial) })),
    );
    const s = (ms: number) => Math.round(ms / 100) / 10;
    const report = {
      window: { from: new Date(since).toISOString(), to: new Date(renewalEnd).toISOString() },
      secretUpdates: { server: written(serverSecret).length, client: written(clientSecret).length },
      serverReloads: t.reloads.length,
      clientCertificatesPresented: new Set(t.calls.map((c) => String(c.clientSerial))).size,
      handshakes: { attempted: t.calls.length, failed: t.failed.length, refusedByServer: t.refused.length },
      visibilityDelaySeconds: {
        server: {
          samples: serverDelays.map(s),
          p50: s(percentileOf(serverDelays, 50)),
          max: s(Math.max(...serverDelays)),
        },
        client: {
          samples: clientDelays.map(s),
          p50: s(percentileOf(clientDelays, 50)),
          max: s(Math.max(...clientDelays)),
        },
      },
    };
    writeReport('e2e-renewal', report);
    console.log('renewal under live traffic:', JSON.stringify(report));
    expect(serverDelays.length).toBeGreaterThan(0);
  }, 600_000);

  it(
    'rotates the CA prepare → activate → retire under live traffic: zero failed handshakes',
    async () => {
      // The CA is every file's: the rotation starts once no other file runs, and none starts until it is done.
      // After pod-certificates.e2e.test.ts: retire would wait for its pods' kubelet refreshes.
      await cluster.exclusively('CA rotation', rotateUnderTraffic, { after: 'pod-certificate pods' });
    },
    2 * LOCK_WAIT_MS + 900_000,
  );
});

/** Scenario 3: the whole rotation with the CLI, under the client's calls; everything it checks. */
async function rotateUnderTraffic(): Promise<void> {
  const since = Date.now();
  // The CLI runs as an operator would, with no --config and no setting flag: it reads the installation
  // (src/cli/installation.ts), so every wait below is the installed ca.propagationDelay, not its default.
  const delay = installedPropagationSeconds();
  expect(delay, 'the e2e install sets ca.propagationDelay in seconds').toBeGreaterThan(0);
  let s = await rotationStatus();
  expect(s.propagationDelaySeconds).toBe(delay); // the installation's, not the CLI's default (300)
  expect(s.phase).toBe('steady');
  expect(stepOf(s, 'prepare').state).toBe('now');
  expect(stepOf(s, 'activate').state).toBe('blocked');
  const oldRoot = await caSecretFile(core, 'tls.crt');
  const workloadSecrets = async () => [await secretOf(core, server), await secretOf(core, client)];
  /** Every workload leaf verifies against every workload's own ca.crt (openssl): any pod trusts any other. */
  const mutualTrust = async (): Promise<void> => {
    const secrets = await workloadSecrets();
    for (const a of secrets) for (const b of secrets) opensslVerify(a, secretFiles(b).ca);
  };
  const newPodInjected = async (): Promise<void> => {
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('during-', { unschedulable: true }),
    });
    expect(pod.metadata?.labels?.[MANAGED]).toBe('true');
  };

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
    async () => (await managedSecrets(core)).every((s) => certCount(secretFiles(s).ca) === 2),
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
  await mutualTrust();
  await newPodInjected();

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
  expect(activate.stderr).toMatch(/waiting: every managed Secret trusts the new root, but/);
  expect(activate.stderr).toContain(`ca.propagationDelay is ${delay}s`);
  expect(activate.stderr).not.toContain('warning:');
  for (const left of countdowns) expect(left).toBeLessThanOrEqual(delay);
  s = await rotationStatus();
  expect(s.phase).toBe('activated');
  expect(stepOf(s, 'prepare').state).toBe('blocked');
  expect(await caSecretFile(core, 'tls.crt')).not.toBe(oldRoot);
  await waitFor(
    'every leaf reissued from the new CA',
    async () => {
      for (const s of await managedSecrets(core)) {
        try {
          opensslVerify(s, newRoot);
        } catch {
          return false;
        }
      }
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  await mutualTrust();
  await newPodInjected();

  // retire waits again, until the reissued leaves are in every running pod: the webhook's serving
  // certificate included, which the API server checks against a caBundle without the old root afterwards.
  const retire = await cliAsync(['ca', 'rotate', 'retire', '--wait', '--wait-timeout', '10m']);
  expect(retire.code, retire.stderr).toBe(0);
  expect(retire.stderr).toMatch(/waiting: every managed Secret holds a leaf from the new CA, but/);
  expect(retire.stderr).toContain(`ca.propagationDelay is ${delay}s`);
  // No waiting here on the test's side: right after retire every webhook pod serves a new-CA certificate.
  for (const pod of await productPods(core, 'webhook')) {
    expect(await servesChainTo(pod.status?.podIP ?? '', newRoot), pod.metadata?.name).toBe(true);
  }
  await waitFor(
    'the old root gone from every bundle',
    async () => (await managedSecrets(core)).every((s) => certCount(secretFiles(s).ca) === 1),
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
  await mutualTrust();
  await newPodInjected();
  s = await rotationStatus();
  expect(s.phase).toBe('steady');
  expect(stepOf(s, 'prepare').state).toBe('now');

  // Afterwards every pod's leaf chains to the new root only: in its Secret (openssl) and in the files the
  // running container reads (whoami inside it).
  const newFingerprint = fingerprint(newRoot);
  for (const pod of [server, client]) {
    const secret = await secretOf(core, pod);
    opensslVerify(secret, newRoot);
    expect(() => opensslVerify(secret, oldRoot)).toThrow(/openssl verify failed/);
    await waitFor(
      `${name(pod)} reads a leaf from the new CA`,
      () =>
        Promise.resolve(
          JSON.stringify(whoamiInside(ns, name(pod)).issuedBy) === JSON.stringify([newFingerprint]),
        ),
      { timeoutMs: 60_000, intervalMs: 2000 },
    );
  }

  // Zero failed handshakes across the whole rotation, on both sides; the same pods, never restarted.
  const until = Date.now();
  await moreCalls(until, 1);
  const t = traffic(since, until);
  const report = {
    window: { from: new Date(since).toISOString(), to: new Date(until).toISOString() },
    handshakes: { attempted: t.calls.length, failed: t.failed.length, refusedByServer: t.refused.length },
    serverReloads: t.reloads.length,
    activate: activate.stderr.trim().split('\n'),
    retire: retire.stderr.trim().split('\n'),
  };
  writeReport('e2e-ca-rotation', report);
  console.log('CA rotation under live traffic:', JSON.stringify(report));
  expect(t.calls.length).toBeGreaterThan(60);
  expect(t.failed).toEqual([]);
  expect(t.refused).toEqual([]);
  await expectNoRestart([server, client]);
}

/** The same pods (same UIDs) as at the start, their app containers never restarted. */
async function expectNoRestart(pods: readonly V1Pod[]): Promise<void> {
  for (const pod of pods) {
    const now = await core.readNamespacedPod({ namespace: ns, name: name(pod) });
    expect(now.metadata?.uid).toBe(pod.metadata?.uid);
    const app = now.status?.containerStatuses?.find((c) => c.name === 'app');
    expect(app?.restartCount, `${name(pod)} restarted: ${JSON.stringify(app?.lastState)}`).toBe(0);
  }
}
