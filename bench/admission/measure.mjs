// Helpers of the admission benchmark: child processes, CPU time from /proc, statistics over rounds.
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOAD = fileURLToPath(new URL('./load.mjs', import.meta.url));
const FLOOR = fileURLToPath(new URL('./floor.mjs', import.meta.url));
// BENCH_OURS_MAIN runs another build of ours (a copy of dist/ with one change, for an A/B comparison).
const MAIN = process.env['BENCH_OURS_MAIN'] ?? fileURLToPath(new URL('../../dist/main.js', import.meta.url));
/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * A new temp directory (`prefix` + random) holding a throwaway self-signed ECDSA P-256 certificate for
 * localhost and 127.0.0.1, one day valid, made by openssl: `{ dir, certFile, keyFile }`. The bench servers
 * serve it; the bench clients do not verify it.
 */
export function localhostCertificate(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { dir, certFile, keyFile };
}

/** User + system CPU time of a process, all its threads, in µs, from /proc/<pid>/stat. */
export function processCpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, so split after its closing parenthesis): the
  // 12th and 13th of those are utime and stime.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

/**
 * Time a process's threads spent runnable but waiting for a CPU, in ms, from each /proc/<pid>/task/<tid>/schedstat
 * (its second field, ns): on a shared machine, what other processes took from this one.
 */
export function processRunQueueWaitMs(pid) {
  let waitNs = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      waitNs += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return waitNs / 1e6;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts our webhook as production does (`mtls-injector webhook`, dist/main.js, configured by environment)
 * or the floor (bench/admission/floor.mjs), each in its own process. Our webhook's stdout is read here, as
 * a container runtime reads a pod's, and its review log lines are counted.
 */
export async function startServer(kind, { certFile, keyFile, response }, execArgv = []) {
  if (kind === 'floor') {
    const child = fork(FLOOR, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    process.once('exit', () => child.kill('SIGKILL'));
    const ready = await new Promise((resolve, reject) => {
      child.once('message', (message) =>
        message.error ? reject(new Error(`floor: ${message.error}`)) : resolve(message),
      );
      child.once('error', reject);
      child.send({ certFile, keyFile, response });
    });
    return {
      kind,
      ...ready,
      stop: () => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.send('stop');
        return exited;
      },
    };
  }
  const [port, probePort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [...execArgv, MAIN, 'webhook'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      MTLS_INJECTOR_WEBHOOK_PORT: String(port),
      MTLS_INJECTOR_WEBHOOK_PROBE_PORT: String(probePort),
      MTLS_INJECTOR_WEBHOOK_HOST: '127.0.0.1',
      MTLS_INJECTOR_WEBHOOK_TLS_CERT: certFile,
      MTLS_INJECTOR_WEBHOOK_TLS_KEY: keyFile,
    },
  });
  // A bench that dies must not leave its servers running.
  process.once('exit', () => child.kill('SIGKILL'));
  const server = { kind, port, probePort, pid: child.pid, reviewLogLines: 0, stop: undefined };
  const drained = new Promise((resolve) => child.stdout.once('end', resolve));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  server.stop = () => {
    child.kill('SIGTERM');
    return Promise.all([exited, drained]);
  };
  await new Promise((resolve, reject) => {
    let tail = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      const lines = (tail + text).split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('"msg":"admission review"')) server.reviewLogLines++;
        else if (line.includes('"msg":"webhook listening"')) resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`our webhook exited with ${code} before listening`)));
  });
  return server;
}

/** Stops a server and waits for it to exit (and for the last of our webhook's stdout). */
export function stopServer(server) {
  return server.stop();
}

/**
 * Runs one load job (bench/admission/load.mjs) against a server; `pid` is the server process whose CPU time
 * is read when the measured window opens and closes.
 */
export function runLoad(job, pid) {
  return new Promise((resolve, reject) => {
    const child = fork(LOAD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let atStart;
    let used;
    const sample = () => ({
      cpuMicros: processCpuMicros(pid),
      serverWaitMs: processRunQueueWaitMs(pid),
      clientWaitMs: processRunQueueWaitMs(child.pid),
    });
    child.on('message', (message) => {
      if (message.mark === 'start') {
        atStart = sample();
      } else if (message.mark === 'stop') {
        const now = sample();
        used = Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - atStart[k]]));
      } else if (message.error) {
        reject(new Error(message.error));
      } else {
        const seconds = message.windowMs / 1000;
        resolve({
          ...message,
          cpuMicrosPerReview: used.cpuMicros / message.requests,
          // Share of the window the server (and the client) were runnable but had no CPU: other load.
          serverRunQueueWaitShare: used.serverWaitMs / 1000 / seconds,
          clientRunQueueWaitShare: used.clientWaitMs / 1000 / seconds,
        });
      }
    });
    child.once('error', reject);
    child.send(job);
  });
}

/** POSTs `body` once over HTTPS; resolves with the status and the answer's text. */
export function postOnce(port, path, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The text of a plain-HTTP GET. */
export function getText(port, path) {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

/** Sum of a Prometheus counter's samples whose labels include every `labels` pair. */
export function counterSum(exposition, name, labels) {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Cumulative counts of the /mutate admission-duration buckets, by upper bound (`le`, seconds). */
export function bucketCounts(exposition) {
  const counts = new Map();
  for (const line of exposition.split('\n')) {
    const match = /^mtls_injector_admission_duration_seconds_bucket\{(.*)\} (\S+)$/.exec(line);
    if (match === null || !match[1].includes('endpoint="/mutate"')) continue;
    const le = /le="([^"]+)"/.exec(match[1])?.[1];
    if (le !== undefined) counts.set(le, Number(match[2]));
  }
  return counts;
}

/** The smallest bucket bound (ms) holding each percentile of the reviews between two snapshots. */
export function percentilesFromBuckets(before, after, percentiles) {
  const bounds = [...after.keys()]
    .filter((le) => le !== '+Inf')
    .map(Number)
    .sort((a, b) => a - b);
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  const out = {};
  for (const p of percentiles) {
    const bound = bounds.find(
      (le) => (after.get(String(le)) ?? 0) - (before.get(String(le)) ?? 0) >= (p / 100) * total,
    );
    out[p] = bound === undefined ? Infinity : bound * 1000;
  }
  return out;
}

/** Median (the middle value; the upper middle for an even count), lowest and highest of a list. */
export function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const min = sorted[0];
  const max = sorted[sorted.length - 1];
  return {
    median,
    min,
    max,
    // The farthest any round lies from the median, as a fraction of it.
    spread: Math.max(median - min, max - median) / median,
  };
}
