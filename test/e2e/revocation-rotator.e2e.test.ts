/**
 * The rotator's part of revocation on the real cluster: `revoke --pod` on a running pod gets it a new
 * certificate (new serial) in its Secret, the old serial goes on the CRL in the ConfigMap mtls-injector-crl
 * and in every managed Secret's ca.crl, and the test app's server (test/e2e/app, reloading ca.crl when the
 * kubelet swaps the files) refuses the old certificate in a real handshake while it accepts the new one.
 * The time from `revoke` to the new Secret and to the CRL published is measured over 20 revocations and
 * written to bench/results/revocation-e2e.json (a figure, not an assertion).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { request } from 'node:https';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { CoreV1Api, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { readRevocationRecord } from '../../src/model/revocations.js';
import { parseCrls } from '../../src/pki/crl-reader.js';
import { leafSummary } from '../../src/pki/x509.js';
import { images, isGone, kubeconfigPath, loadKubeConfig, testNamespaces, waitFor } from './helpers.js';
import {
  cli,
  kubectl,
  percentile,
  plainPod,
  productEnv,
  repoRoot,
  secretFiles,
  secretOf,
} from './product.js';
import { sharesCluster, usesAlone } from './cluster-lock.js';

const kc = loadKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const namespaces = testNamespaces(core);
const productRunning = existsSync(join(kubeconfigPath, '..', 'product.env'));
const RECORD = 'mtls-injector-revocations';
const CRL_CONFIGMAP = 'mtls-injector-crl';

afterAll(async () => {
  await namespaces.deleteAll();
  if (productRunning)
    await isGone(() =>
      core.deleteNamespacedConfigMap({ namespace: productEnv().installNamespace, name: RECORD }),
    );
});

const ready = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

const decode = (secret: V1Secret, key: string): string =>
  Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');

/** Serials each CRL of a ca.crl text lists (canonical hex). */
function listed(pem: string): Set<string> {
  return new Set(parseCrls(pem).flatMap((crl) => [...crl.revoked.keys()]));
}

async function serialOf(pod: V1Pod): Promise<string> {
  return leafSummary(secretFiles(await secretOf(core, pod)).cert)?.serialHex ?? '';
}

async function publishedCrl(): Promise<string> {
  const cm = await core.readNamespacedConfigMap({
    namespace: productEnv().installNamespace,
    name: CRL_CONFIGMAP,
  });
  return cm.data?.['ca.crl'] ?? '';
}

async function recordEntries() {
  const cm = await core
    .readNamespacedConfigMap({ namespace: productEnv().installNamespace, name: RECORD })
    .catch(() => undefined);
  return readRevocationRecord(
    cm === undefined ? undefined : { metadata: cm.metadata ?? {}, data: cm.data ?? {} },
  ).entries;
}

/**
 * `revoke --pod`, retried when a scheduled renewal replaced the certificate between reading its serial and
 * the revoke (leaves live 3 minutes here): answers the serial revoked and when the command started.
 */
async function revokePod(ns: string, pod: V1Pod): Promise<{ serial: string; startedAt: number }> {
  const name = pod.metadata?.name ?? '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const serial = await serialOf(pod);
    const startedAt = Date.now();
    const result = cli(['revoke', '--pod', `${ns}/${name}`, '--reason', 'keyCompromise']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    if ((await recordEntries()).some((e) => e.serial === serial && e.pod === `${ns}/${name}`))
      return { serial, startedAt };
  }
  throw new Error('the certificate was renewed under every revoke');
}

/** The JSON lines of an app container's log. */
function logLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** One GET over mTLS to the test app's server with `cert`/`key`: the HTTP status, or the TLS error. */
function callWith(address: string, cert: string, key: string): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: address,
        port: 8443,
        path: '/',
        cert,
        key,
        rejectUnauthorized: false,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: `${err.code ?? ''} ${err.message}` }));
    req.end();
  });
}

// Both revocation files read and count the one revocation record: one at a time.
usesAlone('revocation-rotator.e2e.test.ts', 'revocation record');
sharesCluster('revocation-rotator.e2e.test.ts');

describe.skipIf(!productRunning)('the rotator acts on a revocation', () => {
  it('revoke --pod on a running pod: a new serial in its Secret, the old one on every CRL, refused by the server app', async () => {
    const ns = await namespaces.create('revoked', { 'mtls-injection': 'enabled' });
    for (const sa of ['server', 'client'])
      await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
    const app = (name: string, args: string[]): V1Pod => ({
      metadata: { name },
      spec: {
        serviceAccountName: name,
        securityContext: { runAsNonRoot: true, runAsUser: 1000 },
        containers: [{ name: 'app', image: images().app, args }],
      },
    });
    await core.createNamespacedPod({ namespace: ns, body: app('server', ['serve', '--port', '8443']) });
    await core.createNamespacedPod({ namespace: ns, body: app('client', ['whoami', '--watch', '1000']) });
    const running = async (name: string) =>
      waitFor(
        `${name} Ready`,
        async () => {
          const pod = await core.readNamespacedPod({ namespace: ns, name });
          return ready(pod) ? pod : undefined;
        },
        { timeoutMs: 180_000 },
      );
    const server = await running('server');
    const client = await running('client');
    const address = server.status?.podIP ?? '';

    // Revoke right after a renewal, so the old certificate outlives the kubelet's sync of the server's files
    // (leaves live 3 minutes here): a refusal then can only be the revocation.
    await waitFor(
      'a freshly renewed client certificate',
      async () => {
        const notAfter = leafSummary(secretFiles(await secretOf(core, client)).cert)?.notAfter.getTime() ?? 0;
        return notAfter - Date.now() > 140_000;
      },
      { timeoutMs: 200_000, intervalMs: 1000 },
    );
    const old = secretFiles(await secretOf(core, client));
    const { serial } = await revokePod(ns, client);
    const oldFiles =
      leafSummary(old.cert)?.serialHex === serial ? old : secretFiles(await secretOf(core, client));

    // The rotator reissues the running pod's certificate: a new serial in its Secret.
    const reissued = await waitFor(
      'a new certificate in the client’s Secret',
      async () => {
        const secret = await secretOf(core, client);
        return leafSummary(decode(secret, 'tls.crt'))?.serialHex !== serial ? secretFiles(secret) : undefined;
      },
      { timeoutMs: 60_000 },
    );
    // The CRL lists the old serial: in the ConfigMap for clients outside, and in the server's ca.crl.
    await waitFor('the old serial on the published CRL', async () =>
      listed(await publishedCrl()).has(serial),
    );
    const serverSecret = await waitFor('the old serial in the server’s ca.crl', async () => {
      const secret = await secretOf(core, server);
      return listed(decode(secret, 'ca.crl')).has(serial) ? secret : undefined;
    });
    expect(decode(serverSecret, 'ca.crl')).toBe(await publishedCrl());

    // A real handshake: once the kubelet has swapped the server's files and the app reloaded them, the old
    // certificate is refused (node:tls's authorizationError CERT_REVOKED, in the app's log: the server sends
    // no reason over the wire) while the reissued one is served.
    const refused = await waitFor(
      'the server app to refuse the revoked certificate',
      async () => {
        const result = await callWith(address, oldFiles.cert, oldFiles.key);
        return result.status === undefined ? result : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
    expect(refused.error).toBeDefined();
    expect(leafSummary(oldFiles.cert)?.notAfter.getTime()).toBeGreaterThan(Date.now()); // not merely expired
    const refusals = logLines(kubectl(['-n', ns, 'logs', 'server', '-c', 'app'])).filter(
      (l) => l.event === 'handshake-refused',
    );
    expect(refusals.map((l) => l.reason)).toContain('CERT_REVOKED');
    expect(await callWith(address, reissued.cert, reissued.key)).toEqual({ status: 200 });
    const reloads = logLines(kubectl(['-n', ns, 'logs', 'server', '-c', 'app'])).filter(
      (l) => l.event === 'reloaded',
    );
    expect(reloads.length).toBeGreaterThan(0);
  }, 600_000);

  it('measures revoke → new Secret and revoke → CRL published over 20 revocations (bench/results/revocation-e2e.json)', async () => {
    const ns = await namespaces.create('revoke-bench', { 'mtls-injection': 'enabled' });
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: plainPod('bench-', { unschedulable: true }),
    });
    await secretOf(core, pod);
    const samples: { toSecret: number; toConfigMap: number; toPodCrl: number; recordToSecret: number }[] = [];
    while (samples.length < 20) {
      const { serial, startedAt } = await revokePod(ns, pod);
      const revokedAt = Date.parse((await recordEntries()).find((e) => e.serial === serial)?.revokedAt ?? '');
      let toSecret: number | undefined;
      let toConfigMap: number | undefined;
      let toPodCrl: number | undefined;
      await waitFor(
        'reissue and CRL',
        async () => {
          const now = Date.now();
          const secret = await secretOf(core, pod);
          if (toSecret === undefined && leafSummary(decode(secret, 'tls.crt'))?.serialHex !== serial)
            toSecret = now - startedAt;
          if (toPodCrl === undefined && listed(decode(secret, 'ca.crl')).has(serial))
            toPodCrl = now - startedAt;
          if (toConfigMap === undefined && listed(await publishedCrl()).has(serial))
            toConfigMap = now - startedAt;
          return toSecret !== undefined && toPodCrl !== undefined && toConfigMap !== undefined;
        },
        { timeoutMs: 120_000, intervalMs: 100 },
      );
      samples.push({
        toSecret: toSecret ?? NaN,
        toConfigMap: toConfigMap ?? NaN,
        toPodCrl: toPodCrl ?? NaN,
        recordToSecret: (toSecret ?? NaN) + startedAt - revokedAt,
      });
    }
    const stats = (pick: (s: (typeof samples)[number]) => number) => {
      const sorted = samples.map(pick).sort((a, b) => a - b);
      return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), min: sorted[0], max: sorted.at(-1) };
    };
    const result = {
      what: 'revoke --pod on the e2e cluster: ms from starting the CLI to the pod Secret holding a new serial, to the ConfigMap mtls-injector-crl listing the old one, and to the pod Secret ca.crl listing it',
      command: 'npx vitest run --config test/e2e/vitest.config.ts test/e2e/revocation-rotator.e2e.test.ts',
      revocations: samples.length,
      ms: {
        toNewSecret: stats((s) => s.toSecret),
        toCrlConfigMap: stats((s) => s.toConfigMap),
        toCrlInPodSecret: stats((s) => s.toPodCrl),
        recordRevokedAtToNewSecret: stats((s) => s.recordToSecret),
      },
      notes:
        'Includes the CLI process start (node dist/main.js), the leader polling the record every 2 s, the write token bucket, and this test polling every 100 ms. The machine is shared with other clusters.',
      machine: {
        cpus: cpus().length,
        loadavg: loadavg().map((l) => Math.round(l * 10) / 10),
        node: process.version,
      },
      date: new Date().toISOString(),
      samples,
    };
    mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true });
    writeFileSync(
      join(repoRoot, 'bench', 'results', 'revocation-e2e.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    expect(samples).toHaveLength(20);
    const live = new Set((await recordEntries()).map((e) => e.serial));
    expect(samples.length).toBeLessThanOrEqual(live.size); // every revocation recorded and still live
  }, 900_000);
});
