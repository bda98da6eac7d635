// Scale test of the rotator: N managed pods and their Secrets, issued over the last 12 h with 24 h lifetimes,
// fed through the real list-then-watch (src/kube/list-watch.ts, with the conversions of src/kube/watch.ts)
// into the real controller (real pki) from an in-memory API server in a process of its own
// (bench/rotator/api-server.mjs: resourceVersion on every write, 409 on a stale replace, every write echoed on
// the watch after its answer, lists in pages of one snapshot). Every object crosses the IPC channel as JSON
// and is decoded here, as a client decodes the wire; the server's copy of every Secret is in its own heap, so
// this process's CPU and memory are what a real rotator pays (docs/adr/0007-rotator-at-150k-pods.md).
//
// One N per process, so memory figures are that N's alone:
//   N=10000 npm run bench:rotator      (N=2000 for a quick run; QPS=50 is rotator.writeQps; SEALED=0 records
//                                      Secrets written before seals (src/pki/seal.ts); STOP_AFTER=startup
//                                      to measure the first two phases alone; PROFILE=<file>.cpuprofile
//                                      writes a CPU profile of the startup phase)
//
// Phases, each measured in CPU time of the rotator's process (process.cpuUsage: every thread, GC included;
// the machine is shared, so wall time would measure the neighbours) with the load average beside it, and
// for feed and startup the main thread's share (/proc/thread-self/stat; the rest is mostly V8's GC helper
// threads) and the GC pauses of the main thread (perf_hooks):
//   feed     the watches list N pods and N Secrets into the controller: the renewal schedule is built;
//   startup  the first drain: every pod's Secret checked once (parse, chain, key match), the due ones renewed;
//   idle     an hour of one tick per minute with nothing else happening: API calls by verb (no LIST);
//   day      DAY_HOURS (24) simulated hours, a tick every 5 minutes: renewal writes per hour (the jitter's
//            spread);
//   storm    the clock jumps 13 h (an outage): nearly every Secret is due at once; writes per simulated
//            second (10-second windows) under rotator.writeQps.
// Memory: RSS and V8 heap after a full GC, before the controller (the bare process) and after startup; the
// rotator's share is the difference. Peak is the rotator process's maxRSS; the API server's RSS is reported
// apart. Results are merged by N into bench/results/rotator-scale.json (`growth`), with `LABEL` naming the
// build measured (default "current").
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { loadConfig } from '../dist/config/loader.js';
import { createKeyPool } from '../dist/pki/key-pool.js';
import { createListWatch } from '../dist/kube/list-watch.js';
import { watchedPod, watchedSecret } from '../dist/kube/watch.js';
import { readCaSecret } from '../dist/model/ca-secret.js';
import { RotatorController } from '../dist/rotator/controller.js';
import { createPkiCertOps } from '../dist/rotator/pki-adapter.js';
import { callCounter, startApiServer } from './rotator/api-client.mjs';

const N = Number(process.env.N ?? 10_000);
const QPS = Number(process.env.QPS ?? 50);
/** SEALED=0 records Secrets without seals, as a cluster has them before its first restart on this version. */
const SEALED = process.env.SEALED !== '0';
const LABEL = process.env.LABEL ?? (SEALED ? 'current' : 'unsealed');
const RESULTS = 'bench/results/rotator-scale.json';
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** Simulated hours of the day phase (15 covers the first renewal of every Secret: 12 h ± 2.4 h). */
const DAY_HOURS = Number(process.env.DAY_HOURS ?? 24);

function mb(bytes) {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

/** CPU milliseconds of the whole process since `since` (a process.cpuUsage() reading). */
function cpuMsSince(since) {
  const d = process.cpuUsage(since);
  return Math.round((d.user + d.system) / 1000);
}

/** CPU milliseconds of the calling (main) thread so far, from /proc (Linux; undefined elsewhere). */
function mainThreadCpuMs() {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the stat line, in clock ticks (100 a second on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Garbage collection pauses of the main thread, summed by kind while `start`ed (perf_hooks 'gc' entries). */
function gcPauses() {
  const kinds = { 1: 'scavenge', 2: 'markCompact', 4: 'incremental', 8: 'weakCallbacks' };
  let totals = {};
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[e.detail?.kind] ?? 'other';
      const t = (totals[kind] ??= { count: 0, ms: 0 });
      t.count += 1;
      t.ms += e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    /** Pauses since the last call, rounded, and their sum (after the observer's queued entries are in). */
    async take() {
      await new Promise((r) => setTimeout(r, 50));
      const taken = totals;
      totals = {};
      const out = {};
      let ms = 0;
      for (const [k, v] of Object.entries(taken)) {
        out[k] = { count: v.count, ms: Math.round(v.ms) };
        ms += v.ms;
      }
      return { pauseMs: Math.round(ms), byKind: out };
    },
  };
}

/**
 * Starts the inspector's CPU profiler when PROFILE names a file, or its sampling heap profiler when
 * HEAP_PROFILE does (allocations that outlived the young generation: alive at the end or collected by a
 * major GC); answers a function that writes it.
 */
async function profileTo(file, heapFile) {
  if (heapFile !== undefined) {
    const { Session } = await import('node:inspector/promises');
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: false,
    });
    return async () => {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(heapFile, JSON.stringify(profile));
      session.disconnect();
    };
  }
  if (file === undefined) return async () => {};
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
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
  // The API server's state, in its own process: N Secrets issued over the last 12 h with 24 h lifetimes
  // (pods are generated on each list, as the API server would serialize them).
  process.stdout.write(`recording ${N} Secrets... `);
  const server = startApiServer(calls, clock);
  const caMaterial = readCaSecret(await server.record(N, SEALED), new Date(now));
  process.stdout.write('done\n');

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
  const podWatch = createListWatch(server.podTransport(watchedPod), (p) => p, noTime);
  const secretWatch = createListWatch(server.secretTransport(watchedSecret), (s) => s, noTime);

  // feed: the watches list everything (Secrets first, as they arrive from an existing cluster in any order).
  const gc = gcPauses();
  const loadFeed = load();
  const c0 = process.cpuUsage();
  const m0 = mainThreadCpuMs();
  await secretWatch.start({
    upsert: (s) => controller.upsertSecret(s),
    remove: (s) => controller.removeSecret(s),
  });
  await podWatch.start({ upsert: (p) => controller.upsertPod(p), remove: (p) => controller.removePod(p) });
  const feedCpuMs = cpuMsSince(c0);
  const feedMainThreadCpuMs = mainThreadCpuMs() - m0;
  const feedGc = await gc.take();
  const afterFeed = memory();

  // startup: the first drain checks every pod's Secret once and renews those already due.
  const writesBefore = server.writeTimes.length;
  const stopProfile = await profileTo(process.env.PROFILE, process.env.HEAP_PROFILE);
  const startupFrom = performance.now();
  const c1 = process.cpuUsage();
  const m1 = mainThreadCpuMs();
  controller.tick();
  await controller.drain();
  const startupCpuMs = cpuMsSince(c1);
  const startupMainThreadCpuMs = mainThreadCpuMs() - m1;
  await stopProfile();
  const startupGc = await gc.take();
  const startupSimulatedSeconds = Math.round((now - start) / 1000);
  const renewedAtStartup = server.writeTimes.length - writesBefore;
  await server.settle(); // the watch echoes of the startup writes
  const after = memory();
  const peakAfterStartup = process.resourceUsage().maxRSS * 1024;
  const loadStartup = load();

  if (process.env.HEAP_SNAPSHOT !== undefined)
    (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT);
  // what the first two phases measured (all a STOP_AFTER=startup run measures)
  const startupRow = {
    secrets: N,
    label: LABEL,
    build: gitDescribe(),
    node: process.version,
    qps: QPS,
    sealed: SEALED,
    buildScheduleMs: feedCpuMs,
    startupCheckMs: startupCpuMs,
    startupCheckMsPerPod: Math.round((startupCpuMs / N) * 1000) / 1000,
    feedMainThreadCpuMs,
    feedGc,
    startupMainThreadCpuMs,
    startupGc,
    renewedAtStartup,
    startupSimulatedSeconds,
    harnessRssMb: mb(before.rss),
    rssMb: mb(after.rss),
    rotatorRssMb: mb(after.rss - before.rss),
    rotatorHeapMb: mb(after.heapUsed - before.heapUsed),
    rotatorHeapAfterFeedMb: mb(afterFeed.heapUsed - before.heapUsed),
    rotatorExternalMb: mb(after.external - before.external),
    rotatorBytesPerPod: Math.round((after.rss - before.rss) / N),
    peakRssBeforeRotatorMb: mb(peakBefore),
    peakRssAfterStartupMb: mb(peakAfterStartup),
  };
  if (process.env.STOP_AFTER === 'startup') {
    const partial = {
      ...startupRow,
      stoppedAfter: 'startup',
      loadAverage: { feed: loadFeed, startup: loadStartup },
      apiServerRssMb: mb((await server.memory()).rss),
      apiCalls: calls.snapshot(),
    };
    // for matching --trace-gc lines (milliseconds since the process started)
    const window = { startupWindowMs: [Math.round(startupFrom), Math.round(performance.now())] };
    console.log(JSON.stringify({ ...partial, ...window }, null, 2));
    // profiling runs leave the results alone; a run with a LABEL is recorded
    if (process.env.LABEL !== undefined) record(partial);
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
    await server.settle();
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
    await server.settle();
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
  await server.settle();
  const stormTimes = server.writeTimes.slice(stormWrites);
  const renewed = stormTimes.length;
  const stormSeconds = Math.max(1, (now - stormFrom) / 1000);
  const perTen = histogram(stormTimes, stormFrom, 10_000, Math.ceil(stormSeconds / 10));
  const full = perTen.slice(0, -1).map((n) => n / 10);
  const peak = process.resourceUsage().maxRSS * 1024;
  const serverMemory = await server.memory();

  const row = {
    ...startupRow,
    loadAverage: { feed: loadFeed, startup: loadStartup, end: load() },
    apiServerRssMb: mb(serverMemory.rss),
    peakRssMb: mb(peak),
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
  server.stop();

  console.log(
    `\nrotator scale test, ${N} managed pods (node ${process.version}, load ${loadStartup.join(' ')})`,
  );
  console.log(JSON.stringify(row, null, 2));

  record(row);
}

/** Merges `row` into bench/results/rotator-scale.json by N and label; the headline is the largest current N. */
function record(row) {
  mkdirSync('bench/results', { recursive: true });
  const previous = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : {};
  const growth = [
    ...(previous.growth ?? []).filter((r) => !(r.secrets === N && r.label === LABEL)),
    row,
  ].sort((a, b) => a.label.localeCompare(b.label) || a.secrets - b.secrets);
  const headline = growth.filter((r) => r.label === 'current' && r.storm !== undefined).at(-1) ?? row;
  // the same N measured on Secrets without seals (SEALED=0): what the first restart after an upgrade pays
  const unsealed = growth.find((r) => r.label === 'unsealed' && r.secrets === headline.secrets);
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
        unsealedStartupCheckMs: unsealed?.startupCheckMs,
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
