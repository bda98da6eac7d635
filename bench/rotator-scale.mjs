// Scale test of the rotator: 10,000 managed Secrets fed as a recorded watch stream into the real controller
// (real pki, in-memory API with API-server semantics). Measures RSS, time to build the renewal schedule, and
// renewal-storm throughput with and without the write rate limit. Writes bench/results/rotator-scale.json.
//
//   npm run bench:rotator            (N=10000 by default; N=2000 npm run bench:rotator for a quick run)
import { writeFileSync, mkdirSync } from 'node:fs';
import { loadConfig } from '../dist/config/loader.js';
import { generateRootCa } from '../dist/pki/ca.js';
import { issueLeaf } from '../dist/pki/issue.js';
import { createKeyPool } from '../dist/pki/key-pool.js';
import { KubeApiError } from '../dist/kube/types.js';
import { newCaSecret, readCaSecret } from '../dist/model/ca-secret.js';
import { RotatorController } from '../dist/rotator/controller.js';
import { createPkiCertOps } from '../dist/rotator/pki-adapter.js';
import { buildWorkloadSecret } from '../dist/model/workload-secret.js';

const N = Number(process.env.N ?? 10_000);
const HOUR = 3_600_000;

/** In-memory Secret API: resourceVersion on every write, 409 on stale replace. */
function memorySecrets() {
  const objects = new Map();
  let version = 1;
  let writes = 0;
  const store = (s) => {
    const stored = { ...s, metadata: { ...s.metadata, resourceVersion: String(++version) } };
    objects.set(`${s.metadata.namespace}/${s.metadata.name}`, stored);
    writes++;
    return stored;
  };
  return {
    objects,
    writes: () => writes,
    get: async (ns, name) => objects.get(`${ns}/${name}`),
    create: async (s) => {
      if (objects.has(`${s.metadata.namespace}/${s.metadata.name}`))
        throw new KubeApiError(409, 'AlreadyExists');
      return store(s);
    },
    replace: async (s) => {
      const cur = objects.get(`${s.metadata.namespace}/${s.metadata.name}`);
      if (cur?.metadata.resourceVersion !== s.metadata.resourceVersion)
        throw new KubeApiError(409, 'Conflict');
      return store(s);
    },
    delete: async (ns, name) => void objects.delete(`${ns}/${name}`),
    list: async () => [...objects.values()],
  };
}

function mb(bytes) {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

async function main() {
  const start = Date.parse('2026-11-23T00:00:00Z');
  let now = start;
  const clock = () => now;
  const ca = generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: 365 * 86_400,
    now: new Date(now - 24 * HOUR),
  });
  const caMaterial = readCaSecret(
    {
      ...newCaSecret(ca, 'mtls-injector', 'mtls-injector-ca', new Date(now)),
      metadata: { name: 'mtls-injector-ca', namespace: 'mtls-injector', resourceVersion: '1' },
    },
    new Date(now),
  );

  // The recorded stream: N pods and their Secrets, issued over the last 12 h with 24 h lifetimes.
  process.stdout.write(`recording ${N} pods and Secrets... `);
  const pods = [];
  const secrets = [];
  for (let i = 0; i < N; i++) {
    const ns = `ns-${i % 50}`;
    const name = `app-${i}`;
    const uid = `uid-${i}`;
    const issuedAt = now - Math.floor((i / N) * 12 * HOUR);
    const leaf = issueLeaf(ca, {
      spiffeId: `spiffe://cluster.local/ns/${ns}/sa/app`,
      keyAlgorithm: 'ecdsa-p256',
      lifetimeSeconds: 24 * 3600,
      backdateSeconds: 60,
      now: new Date(issuedAt),
    });
    pods.push({
      metadata: {
        name,
        namespace: ns,
        uid,
        labels: { 'mtls-injector.io/managed': 'true', app: 'app' },
        annotations: { 'mtls-injector.io/secret': `${name}-mtls` },
      },
      spec: {
        serviceAccountName: 'app',
        volumes: [{ name: 'mtls-certs', secret: { secretName: `${name}-mtls` } }],
      },
      status: { phase: 'Running' },
    });
    const secret = buildWorkloadSecret(
      `${name}-mtls`,
      { namespace: ns, name, uid },
      `spiffe://cluster.local/ns/${ns}/sa/app`,
      leaf,
      caMaterial.bundlePem,
    );
    secrets.push({ ...secret, metadata: { ...secret.metadata, resourceVersion: String(i + 10) } });
  }
  process.stdout.write('done\n');

  const run = async (qps) => {
    const api = memorySecrets();
    for (const s of secrets) api.objects.set(`${s.metadata.namespace}/${s.metadata.name}`, s);
    now = start;
    const config = loadConfig({ flags: { 'rotator.writeQps': String(qps), 'rotator.writeBurst': '100' } });
    const controller = new RotatorController({
      config,
      secrets: api,
      events: { record() {} },
      certs: createPkiCertOps({
        config,
        caManager: { current: () => caMaterial },
        keyPool: createKeyPool({ algorithm: 'ecdsa-p256' }),
        clock,
      }),
      leadership: { isLeader: () => true, validUntil: () => Number.POSITIVE_INFINITY, onChange() {} },
      clock,
      random: Math.random,
      sleep: async (ms) => {
        now += ms;
      },
      counters: { issued() {}, failed() {}, foreign() {}, collision() {} },
      log: { info() {}, warn() {}, error() {}, debug() {} },
      // every namespace of the recording is opted in; no pod is read from the API (all are on the watch)
      namespaceLabels: () => ({ 'mtls-injection': 'enabled' }),
      getPod: async () => undefined,
    });
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    for (const s of secrets) controller.upsertSecret(s);
    for (const p of pods) controller.upsertPod(p);
    const buildMs = performance.now() - t0;
    // Startup pass: every Secret is checked once (parse + verify), nothing needs writing.
    const t1 = performance.now();
    controller.tick();
    await controller.drain();
    const verifyMs = performance.now() - t1;
    const rssAfter = process.memoryUsage().rss;
    const writesAtStart = api.writes();

    // Renewal storm: jump past the latest renewal time of every certificate and drain.
    now = start + 13 * HOUR;
    const simStart = now;
    const t2 = performance.now();
    controller.tick();
    await controller.drain();
    const stormMs = performance.now() - t2;
    const renewed = api.writes() - writesAtStart;
    return {
      qps,
      buildScheduleMs: Math.round(buildMs),
      startupCheckMs: Math.round(verifyMs),
      rssMb: mb(rssAfter),
      rssDeltaMb: mb(rssAfter - rssBefore),
      writesAtStartup: writesAtStart,
      renewed,
      stormCpuMs: Math.round(stormMs),
      renewalsPerCpuSecond: Math.round(renewed / (stormMs / 1000)),
      simulatedSeconds: Math.round((now - simStart) / 1000),
      simulatedWritesPerSecond: Math.round((renewed / Math.max(1, now - simStart)) * 1000 * 10) / 10,
    };
  };

  const limited = await run(50);
  const unlimited = await run(10_000);
  const rows = [limited, unlimited];
  console.log(`\nrotator scale test, ${N} managed Secrets (node ${process.version})`);
  console.table(rows);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/rotator-scale.json',
    `${JSON.stringify({ secrets: N, node: process.version, results: rows }, null, 2)}\n`,
  );
}

await main();
