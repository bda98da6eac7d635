// The load generator of the admission benchmark, in its own process so that it never shares a server's event
// loop. Started by bench/admission.mjs with `fork()`, given one job over IPC:
//
//   { client, port, path, body, connections, warmupMs, durationMs, rate? }
//
// Every `[<id>]` in the body becomes a fresh id per request, and the per-pod placeholders a token volume name
// and managedFields time of its own (review.mjs), with either client.
//
// It sends { mark: 'start' } when the measured window opens and { mark: 'stop' } when it closes (the parent
// reads the server's CPU time at each), then the result. Only answers that arrive inside the window are
// counted and timed.
//
// Two clients, both HTTPS keep-alive, one request at a time per connection:
//   autocannon  autocannon from npm (its own HTTP parser; TLS without verification); latencies are taken
//               from its 'response' events, in fractional milliseconds (its histogram keeps whole ones)
//   lean        a minimal client on node:tls that writes each request whole and reads the answer by its
//               content-length: less client CPU per request, so more of the 2 cores for the server
// With `rate` (requests/s over all connections) the load is open loop; without it, closed loop.
import { connect as tlsConnect } from 'node:tls';
import { hasPerPod, ID_PLACEHOLDER, perPod, withId } from './review.mjs';

process.once('message', (job) => {
  const run = job.client === 'lean' ? leanLoad : autocannonLoad;
  run(job).then(
    (result) => process.send(result, () => process.exit(0)),
    (err) => process.send({ error: String(err?.stack ?? err) }, () => process.exit(1)),
  );
});

/**
 * Counts and times the answers that arrive inside the measured window and marks its edges for the parent.
 * The window is opened and closed by timers, and its length is what actually passed between them (a loaded
 * machine fires timers late), so the parent's CPU readings and the count cover the same span.
 */
function window({ warmupMs, durationMs }) {
  const latencies = [];
  let errors = 0;
  let responseBytes = 0;
  let measuring = false;
  let openedAt = 0;
  let closedAt = 0;
  let closed;
  const done = new Promise((resolve) => (closed = resolve));
  setTimeout(() => {
    process.send({ mark: 'start' });
    openedAt = performance.now();
    measuring = true;
  }, warmupMs);
  setTimeout(() => {
    measuring = false;
    closedAt = performance.now();
    process.send({ mark: 'stop' });
    closed();
  }, warmupMs + durationMs);
  return {
    /** True once the window has closed: closed-loop clients stop then. */
    get over() {
      return closedAt !== 0;
    },
    record(status, bytes, latencyMs) {
      if (!measuring) return;
      latencies.push(latencyMs);
      if (status !== 200) errors++;
      responseBytes = bytes;
    },
    /** The results, once the window has closed. */
    async result() {
      await done;
      latencies.sort((a, b) => a - b);
      const pct = (p) =>
        latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
      return {
        requests: latencies.length,
        windowMs: closedAt - openedAt,
        requestsPerSecond: latencies.length / ((closedAt - openedAt) / 1000),
        p50Ms: pct(50),
        p99Ms: pct(99),
        maxMs: latencies[latencies.length - 1] ?? NaN,
        errors,
        responseBytes,
      };
    },
  };
}

async function autocannonLoad(job) {
  const { default: autocannon } = await import('autocannon');
  const measured = window(job);
  let sent = 0;
  const instance = autocannon({
    url: `https://127.0.0.1:${job.port}${job.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: job.body,
    idReplacement: job.body.includes(ID_PLACEHOLDER),
    // autocannon replaces the ids itself; the per-pod strings are filled in here, per request.
    ...(hasPerPod(job.body)
      ? { requests: [{ setupRequest: (request) => ({ ...request, body: perPod(job.body, sent++) }) }] }
      : {}),
    connections: job.connections,
    pipelining: 1,
    servername: 'localhost',
    // A little past the window, so the last answers inside it are not cut off.
    duration: (job.warmupMs + job.durationMs + 100) / 1000,
    ...(job.rate === undefined ? {} : { overallRate: job.rate }),
  });
  instance.on('response', (_client, status, bytes, latencyMs) => measured.record(status, bytes, latencyMs));
  await new Promise((resolve, reject) => {
    instance.once('done', resolve);
    instance.once('error', reject);
  });
  return measured.result();
}

async function leanLoad(job) {
  const measured = window(job);
  const perRequest = job.body.includes(ID_PLACEHOLDER);
  const head = Buffer.from(
    `POST ${job.path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(withId(job.body, 0))}\r\n\r\n`,
  );
  const fixed = Buffer.concat([head, Buffer.from(job.body)]);
  let sent = 0;
  const requestBytes = () =>
    perRequest ? Buffer.concat([head, Buffer.from(withId(job.body, sent++))]) : fixed;
  const start = performance.now();
  const loop = async (index) => {
    const connection = await openConnection(job.port);
    const interval = job.rate === undefined ? 0 : (1000 * job.connections) / job.rate;
    let next = start + (interval * index) / job.connections;
    try {
      for (;;) {
        if (interval > 0) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          next += interval;
        }
        if (measured.over) return;
        const t0 = performance.now();
        const answer = await connection.send(requestBytes());
        measured.record(answer.status, answer.bytes, performance.now() - t0);
      }
    } finally {
      connection.socket.destroy();
    }
  };
  await Promise.all(Array.from({ length: job.connections }, (_, i) => loop(i)));
  return measured.result();
}

/** One keep-alive TLS connection; `send` writes a request and resolves with the answer's status and size. */
function openConnection(port) {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    let pending;
    const socket = tlsConnect(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false },
      () => resolve({ socket, send }),
    );
    socket.setNoDelay(true);
    const settle = (err, value) => {
      const waiting = pending;
      pending = undefined;
      if (waiting === undefined) return;
      if (err) waiting.reject(err);
      else waiting.resolve(value);
    };
    const send = (bytes) =>
      new Promise((resolveAnswer, rejectAnswer) => {
        pending = { resolve: resolveAnswer, reject: rejectAnswer };
        socket.write(bytes);
      });
    socket.on('data', (chunk) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.toString('latin1', 0, end);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length === null) {
        settle(new Error('answer without content-length'));
        socket.destroy();
        return;
      }
      const total = end + 4 + Number(length[1]);
      if (buffer.length < total) return;
      buffer = buffer.subarray(total);
      settle(undefined, { status: Number(head.slice(9, 12)), bytes: total });
    });
    socket.on('error', (err) => {
      settle(err);
      reject(err);
    });
    socket.on('close', () => settle(new Error('connection closed')));
  });
}
