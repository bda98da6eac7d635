// Admission benchmark: our POST /mutate against the floor of the stack, in alternating rounds of one run.
//
// The floor is a fastify HTTPS route that parses the same review (fastify's JSON parser) and answers our real
// response to it, byte for byte: what any Node webhook on this stack pays before doing any work of its own.
// A third server started outside the bench (a peer such as HashiCorp's vault-k8s injector) joins the rounds
// when BENCH_PEER_URL (its https URL) and BENCH_PEER_PID (the process whose CPU time to read) name it;
// BENCH_PEER_NAME labels it. With BENCH_PEER_ANNOTATIONS (a JSON object) the peer joins a second time, as
// `<name>+inject`, on the same bodies with those annotations added to the pod (ours and the floor never get
// them): for vault-k8s, the annotations that make it inject. bench/admission/peer-vault-k8s.sh starts
// vault-k8s on the e2e cluster and runs the bench with it (`npm run bench:admission:peer`).
//
// Every server runs in its own process (ours as `mtls-injector webhook`, the floor from
// bench/admission/floor.mjs), the load generator in another (bench/admission/load.mjs; autocannon by default,
// BENCH_CLIENT=lean for the minimal client). Two request bodies (bench/admission/review.mjs): `rollout`, one
// pod template under a new uid per request, as a ReplicaSet's pods arrive (our webhook answers these from its
// memo after the second), and `varying`, a different pod every request (no memo hits). Per body, round and
// connection count (1 and 16), each server gets one
// run, in an order that alternates round by round; per cell the median and range over the rounds of req/s,
// p50, p99, the server's CPU µs per review (/proc/<pid>/stat) and the share of the window it waited for a CPU
// (/proc/<pid>/task/<tid>/schedstat); per round the ratio of our req/s to the floor's in that round. Then a
// steady 500 reviews/s against ours for the time spent inside the webhook (its own histogram).
//
// Run with `npm run bench:admission` (builds first). Writes bench/results/admission.json (BENCH_OUT: another
// file) and prints a table.
// BENCH_BODIES (default "rollout,varying"), BENCH_ROUNDS, BENCH_WARMUP_MS, BENCH_DURATION_MS change the shape; BENCH_OURS_FLAGS passes node flags to our
// server only (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--trace-gc"). Profiling one server:
// bench/admission/profile.mjs; instructions per review: bench/admission/instructions.mjs.
import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import {
  bucketCounts,
  counterSum,
  getText,
  localhostCertificate,
  percentilesFromBuckets,
  postOnce,
  runLoad,
  startServer,
  stopServer,
  summary,
} from './admission/measure.mjs';
import { benchReviewText, withId } from './admission/review.mjs';

const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 500);
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 3000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 9);
const CLIENT = process.env['BENCH_CLIENT'] ?? 'autocannon';
const OURS_FLAGS = (process.env['BENCH_OURS_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
const CONNECTIONS = [1, 16];
const BODIES = (process.env['BENCH_BODIES'] ?? 'rollout,varying').split(',');
const GOALS = { throughputRatioAtLeast: 0.85, p99AtOneConnectionMsAtMost: 0.5, spreadAt16AtMost: 0.15 };

const loadAverageAtStart = loadavg();
const { dir, certFile, keyFile } = localhostCertificate('mtls-bench-');

const bodies = Object.fromEntries(BODIES.map((kind) => [kind, benchReviewText(kind)]));
const ours = await startServer('ours', { certFile, keyFile }, OURS_FLAGS);
// The floor answers our answer to the first body, byte for byte (every body's answer has the same length).
const sampleBody = withId(bodies[BODIES[0]], 0);
const sample = await postOnce(ours.port, '/mutate?timeout=5s', sampleBody);
if (sample.status !== 200 || JSON.parse(sample.text).response?.patchType !== 'JSONPatch')
  throw new Error(`our webhook did not patch the bench pod: ${sample.status} ${sample.text}`);
for (const [kind, text] of Object.entries(bodies)) {
  const other = await postOnce(ours.port, '/mutate?timeout=5s', withId(text, 1));
  if (other.status !== 200 || other.text.length !== sample.text.length)
    throw new Error(`our answer to the ${kind} body differs in length from the floor's`);
}
const floor = await startServer('floor', { certFile, keyFile, response: sample.text });
const floorSample = await postOnce(floor.port, '/mutate?timeout=5s', sampleBody);
if (floorSample.text !== sample.text) throw new Error('the floor does not answer our response bytes');

// The path as the API server calls it: with the webhook's timeoutSeconds (5 in our chart) as ?timeout=.
const PATH = '/mutate?timeout=5s';
const servers = [
  { name: 'ours', port: ours.port, path: PATH, pid: ours.pid },
  { name: 'floor', port: floor.port, path: PATH, pid: floor.pid },
];
const peers = [];
if (process.env['BENCH_PEER_URL'] !== undefined) {
  const url = new URL(process.env['BENCH_PEER_URL']);
  const peer = {
    name: process.env['BENCH_PEER_NAME'] ?? 'vault-k8s',
    port: Number(url.port),
    path: url.pathname + url.search,
    pid: Number(process.env['BENCH_PEER_PID']),
  };
  peers.push(peer);
  const annotations = JSON.parse(process.env['BENCH_PEER_ANNOTATIONS'] || 'null');
  if (annotations !== null)
    peers.push({
      ...peer,
      name: `${peer.name}+inject`,
      annotations,
      bodies: Object.fromEntries(
        BODIES.map((kind) => [kind, benchReviewText(kind, { extraAnnotations: annotations })]),
      ),
    });
  // What the peer answers to each body, checked once here and recorded (the rounds count only statuses).
  for (const p of peers) {
    p.answers = {};
    for (const kind of BODIES) {
      const { status, text } = await postOnce(p.port, p.path, withId((p.bodies ?? bodies)[kind], 2));
      const response = JSON.parse(text).response;
      if (status !== 200 || response?.allowed !== true)
        throw new Error(`${p.name} did not allow the ${kind} pod: ${status} ${text.slice(0, 500)}`);
      if ((p.annotations !== undefined) !== (response.patchType === 'JSONPatch'))
        throw new Error(`${p.name} ${p.annotations ? 'did not patch' : 'patched'} the ${kind} pod`);
      p.answers[kind] = {
        requestBytes: Buffer.byteLength(withId((p.bodies ?? bodies)[kind], 2)),
        responseBytes: Buffer.byteLength(text),
        patchBytes: response.patch === undefined ? 0 : Buffer.from(response.patch, 'base64').length,
        patchOperations:
          response.patch === undefined ? 0 : JSON.parse(Buffer.from(response.patch, 'base64')).length,
      };
    }
    servers.push(p);
  }
}

const job = (server, body, connections, extra = {}) => ({
  client: CLIENT,
  port: server.port,
  path: server.path,
  body: (server.bodies ?? bodies)[body],
  connections,
  warmupMs: WARMUP_MS,
  durationMs: DURATION_MS,
  ...extra,
});

// One unrecorded run per server and connection count first: the first rounds otherwise include V8 compiling
// the hot path.
for (const body of BODIES)
  for (const connections of CONNECTIONS)
    for (const server of servers)
      await runLoad(job(server, body, connections, { warmupMs: 0, durationMs: 2000 }), server.pid);

const rounds = [];
for (const body of BODIES) {
  for (const connections of CONNECTIONS) {
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
        const result = await runLoad(job(server, body, connections), server.pid);
        rounds.push({ server: server.name, body, connections, round, loadAverage: loadavg()[0], ...result });
      }
    }
  }
}

// docs/design.md's budget: p99 under 2 ms inside the webhook at 500 reviews/s. Open loop, 8 connections; the
// webhook's own histogram gives the time inside it (bucket bounds), the client the rest.
const histogramBefore = bucketCounts(await getText(ours.probePort, '/metrics'));
const steady = await runLoad(
  job(servers[0], BODIES[0], 8, { durationMs: DURATION_MS * 2, rate: 500 }),
  ours.pid,
);
const exposition = await getText(ours.probePort, '/metrics');
const inWebhook = percentilesFromBuckets(histogramBefore, bucketCounts(exposition), [50, 99]);
const admissionsCounted = counterSum(exposition, 'mtls_injector_admissions_total', { endpoint: '/mutate' });

await stopServer(floor);
await stopServer(ours);
rmSync(dir, { recursive: true, force: true });

const cells = [];
for (const body of BODIES) {
  for (const connections of CONNECTIONS) {
    for (const server of servers) {
      const mine = rounds.filter(
        (r) => r.server === server.name && r.body === body && r.connections === connections,
      );
      cells.push({
        server: server.name,
        body,
        connections,
        loadAverage: summary(mine.map((r) => r.loadAverage)),
        requestsPerSecond: summary(mine.map((r) => r.requestsPerSecond)),
        p50Ms: summary(mine.map((r) => r.p50Ms)),
        p99Ms: summary(mine.map((r) => r.p99Ms)),
        cpuMicrosPerReview: summary(mine.map((r) => r.cpuMicrosPerReview)),
        serverRunQueueWaitShare: summary(mine.map((r) => r.serverRunQueueWaitShare)),
        clientRunQueueWaitShare: summary(mine.map((r) => r.clientRunQueueWaitShare)),
        errors: mine.reduce((sum, r) => sum + r.errors, 0),
      });
    }
  }
}
const cell = (server, body, connections) =>
  cells.find((c) => c.server === server && c.body === body && c.connections === connections);
const comparisons = [];
for (const body of BODIES) {
  for (const connections of CONNECTIONS) {
    for (const server of servers.filter((s) => s.name !== 'floor')) {
      const ratios = [];
      const cpuRatios = [];
      for (let round = 0; round < ROUNDS; round++) {
        const of = (name) =>
          rounds.find(
            (r) => r.server === name && r.body === body && r.connections === connections && r.round === round,
          );
        ratios.push(of(server.name).requestsPerSecond / of('floor').requestsPerSecond);
        cpuRatios.push(of(server.name).cpuMicrosPerReview / of('floor').cpuMicrosPerReview);
      }
      comparisons.push({
        server: server.name,
        body,
        connections,
        throughputRatioToFloor: summary(ratios),
        cpuRatioToFloorByRound: summary(cpuRatios),
        cpuRatioToFloor:
          cell(server.name, body, connections).cpuMicrosPerReview.median /
          cell('floor', body, connections).cpuMicrosPerReview.median,
      });
    }
  }
}
const ratioOf = (body, connections) =>
  comparisons.find((c) => c.server === 'ours' && c.body === body && c.connections === connections)
    .throughputRatioToFloor.median;
const goals = { ...GOALS };
for (const body of BODIES) {
  goals[body] = {
    throughputAtOneConnectionMet: ratioOf(body, 1) >= GOALS.throughputRatioAtLeast,
    throughputAtSixteenConnectionsMet: ratioOf(body, 16) >= GOALS.throughputRatioAtLeast,
    p99AtOneConnectionMet: cell('ours', body, 1).p99Ms.median <= GOALS.p99AtOneConnectionMsAtMost,
    spreadAtSixteenConnectionsMet: cell('ours', body, 16).requestsPerSecond.spread <= GOALS.spreadAt16AtMost,
  };
}

const result = {
  command: peers.length === 0 ? 'npm run bench:admission' : 'npm run bench:admission:peer',
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? 'unknown',
  loadAverageAtStart,
  loadAverageAtEnd: loadavg(),
  client: CLIENT,
  oursFlags: OURS_FLAGS,
  bodies: BODIES,
  requestBodyBytes: Object.fromEntries(
    Object.entries(bodies).map(([kind, text]) => [kind, Buffer.byteLength(withId(text, 0))]),
  ),
  responseBodyBytes: Buffer.byteLength(sample.text),
  peers: peers.map(({ name, path, annotations, answers }) => ({ name, path, annotations, answers })),
  warmupMs: WARMUP_MS,
  durationMs: DURATION_MS,
  rounds: ROUNDS,
  cells,
  comparisons,
  steady500: {
    requestsPerSecond: steady.requestsPerSecond,
    clientP50Ms: steady.p50Ms,
    clientP99Ms: steady.p99Ms,
    inWebhookP50MsAtMost: inWebhook[50],
    inWebhookP99MsAtMost: inWebhook[99],
    errors: steady.errors,
  },
  // Every review the webhook counted was logged, one line each (read from its stdout).
  logLines: { reviewsCounted: admissionsCounted, reviewLogLines: ours.reviewLogLines },
  goals,
  roundDetails: rounds,
};
writeFileSync(
  process.env['BENCH_OUT'] ?? new URL('./results/admission.json', import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);

const range = (s, digits = 0) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
const pct = (x) => `${(x * 100).toFixed(1)} %`;
const met = (ok) => (ok ? 'MET' : 'NOT MET');
console.log(
  [
    `node ${process.version}, ${result.cpus} CPUs (${result.cpuModel}), request ${Object.entries(
      result.requestBodyBytes,
    )
      .map(([k, v]) => `${k} ${v} B`)
      .join(
        ', ',
      )}, response ${result.responseBodyBytes} B, client ${CLIENT}, ${ROUNDS} alternating rounds of ${DURATION_MS / 1000} s after ${WARMUP_MS / 1000} s warm-up; median (range)`,
    '',
    '| body    | server    | conns | req/s                 | p50 ms              | p99 ms               | server CPU µs/review | server waiting for a CPU | load average     | errors |',
    '| ------- | --------- | ----- | --------------------- | ------------------- | -------------------- | -------------------- | ------------------------ | ---------------- | ------ |',
    ...cells.map(
      (c) =>
        `| ${c.body.padEnd(7)} | ${c.server.padEnd(9)} | ${String(c.connections).padEnd(5)} | ${range(c.requestsPerSecond).padEnd(21)} | ${range(c.p50Ms, 3).padEnd(19)} | ${range(c.p99Ms, 3).padEnd(20)} | ${range(c.cpuMicrosPerReview).padEnd(20)} | ${`${pct(c.serverRunQueueWaitShare.median)} (${pct(c.serverRunQueueWaitShare.min)}–${pct(c.serverRunQueueWaitShare.max)})`.padEnd(24)} | ${range(c.loadAverage, 1).padEnd(16)} | ${String(c.errors).padEnd(6)} |`,
    ),
    '',
    ...comparisons.map(
      (c) =>
        `${c.server} / floor, ${c.body}, ${c.connections} connection(s): throughput ${pct(c.throughputRatioToFloor.median)} (rounds ${pct(c.throughputRatioToFloor.min)}–${pct(c.throughputRatioToFloor.max)}), CPU per review ${c.cpuRatioToFloor.toFixed(2)}× the floor's (rounds ${c.cpuRatioToFloorByRound.min.toFixed(2)}–${c.cpuRatioToFloorByRound.max.toFixed(2)})`,
    ),
    ...BODIES.map(
      (body) =>
        `${body} at 16 connections: ours' rounds within ±${pct(cell('ours', body, 16).requestsPerSecond.spread)} of the median req/s (goal ±15 %), CPU µs per review ±${pct(cell('ours', body, 16).cpuMicrosPerReview.spread)}; floor ±${pct(cell('floor', body, 16).requestsPerSecond.spread)}, CPU ±${pct(cell('floor', body, 16).cpuMicrosPerReview.spread)}`,
    ),
    `steady 500 reviews/s (${BODIES[0]}, 8 connections, open loop): ${Math.round(steady.requestsPerSecond)} req/s, client p99 ${steady.p99Ms.toFixed(3)} ms; inside the webhook p50 ≤ ${inWebhook[50]} ms, p99 ≤ ${inWebhook[99]} ms`,
    `reviews counted ${admissionsCounted}, review log lines ${ours.reviewLogLines}`,
    `load average ${loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} at start, ${result.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')} at end (the ${result.cpus} CPUs are shared)`,
    ...BODIES.map(
      (body) =>
        `goals (${body}): ≥ 85 % of the floor at 1 connection ${met(goals[body].throughputAtOneConnectionMet)}, at 16 ${met(goals[body].throughputAtSixteenConnectionsMet)}; p99 at 1 connection ≤ 0.5 ms ${met(goals[body].p99AtOneConnectionMet)}; spread at 16 within ±15 % ${met(goals[body].spreadAtSixteenConnectionsMet)}`,
    ),
  ].join('\n'),
);
