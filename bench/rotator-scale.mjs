// Scale test of the rotator: N managed pods and their Secrets, issued over the last 12 h with 24 h lifetimes,
// fed through the real list-then-watch (src/kube/list-watch.ts, with the conversions of src/kube/watch.ts) into the real controller (real pki, an
// in-memory API with API-server semantics: resourceVersion on every write, 409 on a stale replace, every
// write echoed on the watch, every object handed out as a fresh copy as if it came off the wire).
//
// One N per process, so memory figures are that N's alone:
//   N=10000 npm run bench:rotator      (N=2000 for a quick run; QPS=50 is rotator.writeQps; STOP_AFTER=startup
//                                      to profile the first two phases alone)
//
// Phases, each measured in CPU time of the whole process (process.cpuUsage: every thread, GC included; the
// machine is shared, so wall time would measure the neighbours) with the load average beside it:
//   feed     the watches list N pods and N Secrets into the controller: the renewal schedule is built;
//   startup  the first drain: every pod's Secret checked once (parse, chain, key match), the due ones renewed;
//   idle     an hour of one tick per minute with nothing else happening: API calls by verb (no LIST);
//   day      DAY_HOURS (24) simulated hours, a tick every 5 minutes: renewal writes per hour (the jitter's
//            spread);
//   storm    the clock jumps 13 h (an outage): nearly every Secret is due at once; writes per simulated
//            second (10-second windows) under rotator.writeQps.
// Memory: RSS and V8 heap after a full GC, before the controller (the harness: the in-memory API server's
// copy of every Secret) and after startup; the rotator's share is the difference. Peak is the process's
// maxRSS. Results are merged by N into bench/results/rotator-scale.json (`growth`), with `LABEL` naming
// the build measured (default "current").
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setImmediate } from 'node:timers';
import { loadConfig } from '../dist/config/loader.js';
import { generateRootCa } from '../dist/pki/ca.js';
import { issueLeaf } from '../dist/pki/issue.js';
import { createKeyPool } from '../dist/pki/key-pool.js';
import { KubeApiError } from '../dist/kube/types.js';
import { createListWatch, listInPages } from '../dist/kube/list-watch.js';
import { watchedPod, watchedSecret } from '../dist/kube/watch.js';
import { newCaSecret, readCaSecret } from '../dist/model/ca-secret.js';
import { RotatorController } from '../dist/rotator/controller.js';
import { createPkiCertOps } from '../dist/rotator/pki-adapter.js';
import { buildWorkloadSecret } from '../dist/model/workload-secret.js';

const N = Number(process.env.N ?? 10_000);
const QPS = Number(process.env.QPS ?? 50);
const LABEL = process.env.LABEL ?? 'current';
const RESULTS = 'bench/results/rotator-scale.json';
const HOUR = 3_600_000;
const MINUTE = 60_000;
const NAMESPACES = 50;
/** Simulated hours of the day phase (15 covers the first renewal of every Secret: 12 h ± 2.4 h). */
const DAY_HOURS = Number(process.env.DAY_HOURS ?? 24);

/** What a watch event or a GET would hand out: a fresh object, as parsed from the wire. */
const wire = (o) => JSON.parse(JSON.stringify(o));

/** Counts API calls by `resource verb`. */
function callCounter() {
  const counts = {};
  return {
    count: (what) => {
      counts[what] = (counts[what] ?? 0) + 1;
    },
    snapshot: () => ({ ...counts }),
  };
}

/** In-memory Secret API: resourceVersion on every write, 409 on a stale replace, writes echoed on the watch. */
function memorySecrets(calls, clock) {
  const objects = new Map();
  const watchers = new Set();
  let version = 1_000_000;
  const writeTimes = [];
  const emit = (type, object) => {
    for (const w of watchers) void Promise.resolve().then(() => w({ type, object: wire(object) }));
  };
  const store = (s) => {
    const metadata = {
      ...s.metadata,
      resourceVersion: String(++version),
      managedFields: managedFields(clock()),
    };
    const stored = { ...s, metadata };
    objects.set(`${s.metadata.namespace}/${s.metadata.name}`, stored);
    writeTimes.push(clock());
    return stored;
  };
  return {
    objects,
    writeTimes,
    nextVersion: () => String(++version),
    api: {
      get: async (ns, name) => {
        calls.count('secrets get');
        const found = objects.get(`${ns}/${name}`);
        return found === undefined ? undefined : wire(found);
      },
      create: async (s) => {
        calls.count('secrets create');
        if (objects.has(`${s.metadata.namespace}/${s.metadata.name}`))
          throw new KubeApiError(409, 'AlreadyExists');
        const stored = store(s);
        emit('ADDED', stored);
        return wire(stored);
      },
      replace: async (s) => {
        calls.count('secrets replace');
        const cur = objects.get(`${s.metadata.namespace}/${s.metadata.name}`);
        if (cur?.metadata.resourceVersion !== s.metadata.resourceVersion)
          throw new KubeApiError(409, 'Conflict');
        const stored = store(s);
        emit('MODIFIED', stored);
        return wire(stored);
      },
      delete: async (ns, name) => {
        calls.count('secrets delete');
        const gone = objects.get(`${ns}/${name}`);
        objects.delete(`${ns}/${name}`);
        if (gone !== undefined) emit('DELETED', gone);
      },
      list: async () => {
        calls.count('secrets list');
        return [...objects.values()].map(wire);
      },
    },
    /** The list-then-watch of src/kube/watch.ts: pages of 500, each object projected as it arrives. */
    transport: (project) => ({
      list: () => {
        const snapshot = [...objects.values()];
        const rv = String(version);
        return listInPages(async (limit, token) => {
          calls.count('secrets list (page)');
          const from = Number(token ?? 0);
          const items = snapshot.slice(from, from + limit).map(wire);
          return {
            items,
            resourceVersion: rv,
            continueToken: from + limit < snapshot.length ? String(from + limit) : '',
          };
        }, project);
      },
      watch: async (_rv, onEvent) => {
        calls.count('secrets watch');
        const projected = (e) => onEvent({ ...e, object: project(e.object) });
        watchers.add(projected);
        return { abort: () => watchers.delete(projected) };
      },
    }),
  };
}

/** The managedFields entry the API server adds to a Secret the rotator wrote. */
function managedFields(at) {
  const time = new Date(at).toISOString().replace(/\.\d+Z$/, 'Z');
  return [
    {
      manager: 'mtls-injector',
      operation: 'Update',
      apiVersion: 'v1',
      time,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:data': { '.': {}, 'f:ca.crt': {}, 'f:tls.crt': {}, 'f:tls.key': {} },
        'f:metadata': {
          'f:annotations': { '.': {}, 'f:mtls-injector.io/spiffe-id': {} },
          'f:labels': { '.': {}, 'f:mtls-injector.io/managed': {}, 'f:mtls-injector.io/pod': {} },
          'f:ownerReferences': { '.': {}, 'k:{"uid":"…"}': {} },
        },
        'f:type': {},
      },
    },
  ];
}

/**
 * A pod as the API server sends it after the webhook injected it: a ReplicaSet's pod with one app container,
 * the mtls-init container, the token volume, status with conditions and container statuses, managedFields.
 */
function podAt(i) {
  const ns = `ns-${i % NAMESPACES}`;
  const name = `app-${i}`;
  const hash = (i * 2654435761).toString(16).slice(-10);
  const created = '2026-11-22T12:00:00Z';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `app-${hash}-`,
      namespace: ns,
      uid: `7c1d1e52-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resourceVersion: String(100 + i),
      creationTimestamp: created,
      labels: { app: 'app', 'pod-template-hash': hash, 'mtls-injector.io/managed': 'true' },
      annotations: {
        'mtls-injector.io/secret': `${name}-mtls`,
        'mtls-injector.io/status': 'injected',
        'kubectl.kubernetes.io/restartedAt': created,
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `app-${hash}`,
          uid: `5b0e3f11-0000-4000-8000-${String(i % 500).padStart(12, '0')}`,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: created,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
          },
        },
        {
          manager: 'kubelet',
          operation: 'Update',
          apiVersion: 'v1',
          time: created,
          fieldsType: 'FieldsV1',
          subresource: 'status',
          fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:podIP': {} } },
        },
      ],
    },
    spec: {
      serviceAccountName: 'app',
      nodeName: `node-${i % 1000}`,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      volumes: [
        { name: 'mtls-certs', secret: { secretName: `${name}-mtls`, defaultMode: 420 } },
        {
          name: 'kube-api-access-x1y2z',
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            ],
            defaultMode: 420,
          },
        },
      ],
      initContainers: [
        {
          name: 'mtls-init',
          image: 'ghcr.io/example/mtls-injector:0.1.0',
          args: ['init', '--dir', '/var/run/mtls'],
          volumeMounts: [{ name: 'mtls-certs', mountPath: '/var/run/mtls', readOnly: true }],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
        },
      ],
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/team/app:1.4.2',
          ports: [{ containerPort: 8443, protocol: 'TCP' }],
          env: [
            { name: 'MTLS_DIR', value: '/var/run/mtls' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          volumeMounts: [
            { name: 'mtls-certs', mountPath: '/var/run/mtls', readOnly: true },
            { name: 'kube-api-access-x1y2z', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
          ],
          terminationMessagePath: '/dev/termination-log',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
    },
    status: {
      phase: 'Running',
      hostIP: `10.0.${(i >> 8) & 255}.${i & 255}`,
      podIP: `10.244.${(i >> 8) & 255}.${i & 255}`,
      startTime: created,
      qosClass: 'Burstable',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: created,
      })),
      containerStatuses: [
        {
          name: 'app',
          ready: true,
          restartCount: 0,
          image: 'registry.example.com/team/app:1.4.2',
          imageID: `registry.example.com/team/app@sha256:${'ab'.repeat(32)}`,
          containerID: `containerd://${hash.repeat(6).slice(0, 64)}`,
          started: true,
          state: { running: { startedAt: created } },
        },
      ],
    },
  };
}

function mb(bytes) {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

/** CPU milliseconds of the whole process since `since` (a process.cpuUsage() reading). */
function cpuMsSince(since) {
  const d = process.cpuUsage(since);
  return Math.round((d.user + d.system) / 1000);
}

function memory() {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
}

function load() {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

function gitDescribe() {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Counts of `times` (epoch ms) in buckets of `width` ms from `from`. */
function histogram(times, from, width, buckets) {
  const counts = new Array(buckets).fill(0);
  for (const t of times) {
    const b = Math.floor((t - from) / width);
    if (b >= 0 && b < buckets) counts[b] += 1;
  }
  return counts;
}

async function main() {
  const start = Date.parse('2026-11-23T00:00:00Z');
  let now = start;
  const clock = () => now;
  const calls = callCounter();
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

  // The API server's state: N Secrets issued over the last 12 h with 24 h lifetimes (pods are generated on
  // each list, as the API server would serialize them).
  process.stdout.write(`recording ${N} Secrets... `);
  const server = memorySecrets(calls, clock);
  for (let i = 0; i < N; i++) {
    const pod = podAt(i);
    const { namespace: ns, name, uid } = pod.metadata;
    const leaf = issueLeaf(ca, {
      spiffeId: `spiffe://cluster.local/ns/${ns}/sa/app`,
      keyAlgorithm: 'ecdsa-p256',
      lifetimeSeconds: 24 * 3600,
      backdateSeconds: 60,
      now: new Date(now - Math.floor((i / N) * 12 * HOUR)),
    });
    const secret = buildWorkloadSecret(
      `${name}-mtls`,
      { namespace: ns, name, uid },
      `spiffe://cluster.local/ns/${ns}/sa/app`,
      leaf,
      caMaterial.bundlePem,
    );
    server.objects.set(`${ns}/${name}-mtls`, {
      ...secret,
      metadata: {
        ...secret.metadata,
        resourceVersion: server.nextVersion(),
        creationTimestamp: '2026-11-22T12:00:00Z',
        managedFields: managedFields(now),
      },
    });
  }
  process.stdout.write('done\n');
  const podTransport = {
    list: () =>
      listInPages(async (limit, token) => {
        calls.count('pods list (page)');
        const from = Number(token ?? 0);
        const to = Math.min(N, from + limit);
        const items = Array.from({ length: to - from }, (_, i) => podAt(from + i));
        return { items, resourceVersion: '1', continueToken: to < N ? String(to) : '' };
      }, watchedPod),
    watch: async () => {
      calls.count('pods watch');
      return { abort() {} };
    },
  };

  const config = loadConfig({ flags: { 'rotator.writeQps': String(QPS), 'rotator.writeBurst': '100' } });
  const before = memory();
  const peakBefore = process.resourceUsage().maxRSS * 1024;

  const controller = new RotatorController({
    config,
    secrets: server.api,
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
    getPod: async () => {
      calls.count('pods get');
      return undefined;
    },
  });
  const noTime = { now: clock, setTimeout: () => undefined, clearTimeout() {}, random: Math.random };
  const podWatch = createListWatch(podTransport, (p) => p, noTime);
  const secretWatch = createListWatch(server.transport(watchedSecret), (s) => s, noTime);

  // feed: the watches list everything (Secrets first, as they arrive from an existing cluster in any order).
  const loadFeed = load();
  const c0 = process.cpuUsage();
  await secretWatch.start({
    upsert: (s) => controller.upsertSecret(s),
    remove: (s) => controller.removeSecret(s),
  });
  await podWatch.start({ upsert: (p) => controller.upsertPod(p), remove: (p) => controller.removePod(p) });
  const feedCpuMs = cpuMsSince(c0);

  // startup: the first drain checks every pod's Secret once and renews those already due.
  const writesBefore = server.writeTimes.length;
  const c1 = process.cpuUsage();
  controller.tick();
  await controller.drain();
  const startupCpuMs = cpuMsSince(c1);
  const startupSimulatedSeconds = Math.round((now - start) / 1000);
  const renewedAtStartup = server.writeTimes.length - writesBefore;
  await new Promise((r) => setImmediate(r)); // the watch echoes of the startup writes
  const after = memory();
  const peakAfterStartup = process.resourceUsage().maxRSS * 1024;
  const loadStartup = load();

  if (process.env.HEAP_SNAPSHOT !== undefined)
    (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT);
  if (process.env.STOP_AFTER === 'startup') {
    console.log(
      JSON.stringify({
        N,
        feedCpuMs,
        startupCpuMs,
        rotatorHeapMb: mb(after.heapUsed - before.heapUsed),
        rotatorRssMb: mb(after.rss - before.rss),
      }),
    );
    process.exit(0);
  }

  // idle: an hour of ticks, one a minute.
  const callsBeforeIdle = calls.snapshot();
  const c2 = process.cpuUsage();
  const idleTicks = 60;
  for (let t = 0; t < idleTicks; t++) {
    now += MINUTE;
    controller.tick();
    await controller.drain();
    await new Promise((r) => setImmediate(r));
  }
  const idleCpuMs = cpuMsSince(c2);
  const callsAfterIdle = calls.snapshot();
  const idleCalls = Object.fromEntries(
    Object.entries(callsAfterIdle)
      .map(([k, v]) => [k, v - (callsBeforeIdle[k] ?? 0)])
      .filter(([, v]) => v > 0),
  );

  // day: 24 simulated hours from the start, a tick every 5 minutes; renewal writes per hour.
  const dayFrom = now;
  const dayWrites = server.writeTimes.length;
  const c3 = process.cpuUsage();
  while (now < dayFrom + DAY_HOURS * HOUR) {
    now += 5 * MINUTE;
    controller.tick();
    await controller.drain();
    await new Promise((r) => setImmediate(r));
  }
  const dayCpuMs = cpuMsSince(c3);
  const perHour = histogram(server.writeTimes.slice(dayWrites), dayFrom, HOUR, DAY_HOURS);

  // storm: an outage of 13 h; nearly every Secret is due at once.
  now += 13 * HOUR;
  const stormFrom = now;
  const stormWrites = server.writeTimes.length;
  const c4 = process.cpuUsage();
  controller.tick();
  await controller.drain();
  const stormCpuMs = cpuMsSince(c4);
  await new Promise((r) => setImmediate(r));
  const stormTimes = server.writeTimes.slice(stormWrites);
  const renewed = stormTimes.length;
  const stormSeconds = Math.max(1, (now - stormFrom) / 1000);
  const perTen = histogram(stormTimes, stormFrom, 10_000, Math.ceil(stormSeconds / 10));
  const full = perTen.slice(0, -1).map((n) => n / 10);
  const peak = process.resourceUsage().maxRSS * 1024;

  const row = {
    secrets: N,
    label: LABEL,
    build: gitDescribe(),
    node: process.version,
    loadAverage: { feed: loadFeed, startup: loadStartup, end: load() },
    qps: QPS,
    buildScheduleMs: feedCpuMs,
    startupCheckMs: startupCpuMs,
    startupCheckMsPerPod: Math.round((startupCpuMs / N) * 1000) / 1000,
    renewedAtStartup,
    startupSimulatedSeconds,
    harnessRssMb: mb(before.rss),
    rssMb: mb(after.rss),
    rotatorRssMb: mb(after.rss - before.rss),
    rotatorHeapMb: mb(after.heapUsed - before.heapUsed),
    rotatorExternalMb: mb(after.external - before.external),
    rotatorBytesPerPod: Math.round((after.rss - before.rss) / N),
    peakRssMb: mb(peak),
    peakRssBeforeRotatorMb: mb(peakBefore),
    peakRssAfterStartupMb: mb(peakAfterStartup),
    idle: { ticks: idleTicks, cpuMs: idleCpuMs, apiCalls: idleCalls },
    apiCalls: calls.snapshot(),
    day: { hours: DAY_HOURS, cpuMs: dayCpuMs, renewalsPerHour: perHour },
    storm: {
      renewed,
      cpuMs: stormCpuMs,
      renewalsPerCpuSecond: Math.round(renewed / (stormCpuMs / 1000)),
      simulatedSeconds: Math.round(stormSeconds),
      simulatedWritesPerSecond: Math.round((renewed / stormSeconds) * 10) / 10,
      // writes per second in each full 10-second window of simulated time
      writesPerSecond: {
        min: full.length === 0 ? 0 : Math.min(...full),
        max: full.length === 0 ? 0 : Math.max(...full),
      },
    },
  };
  podWatch.stop();
  secretWatch.stop();

  console.log(
    `\nrotator scale test, ${N} managed pods (node ${process.version}, load ${loadStartup.join(' ')})`,
  );
  console.log(JSON.stringify(row, null, 2));

  mkdirSync('bench/results', { recursive: true });
  const previous = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : {};
  const growth = [
    ...(previous.growth ?? []).filter((r) => !(r.secrets === N && r.label === LABEL)),
    row,
  ].sort((a, b) => a.label.localeCompare(b.label) || a.secrets - b.secrets);
  const headline = growth.filter((r) => r.label === 'current').at(-1) ?? row;
  const result = {
    command: 'N=<pods> npm run bench:rotator',
    secrets: headline.secrets,
    node: headline.node,
    // the row README's figures come from: the largest N of the current build
    results: [
      {
        qps: headline.qps,
        buildScheduleMs: headline.buildScheduleMs,
        startupCheckMs: headline.startupCheckMs,
        rssMb: headline.rssMb,
        rotatorRssMb: headline.rotatorRssMb,
        peakRssMb: headline.peakRssMb,
        renewed: headline.storm.renewed,
        simulatedWritesPerSecond: headline.storm.simulatedWritesPerSecond,
      },
    ],
    growth,
  };
  writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
}

await main();
