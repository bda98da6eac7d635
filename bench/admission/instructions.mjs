// Instructions per review, counted by valgrind's callgrind: a figure other load on the machine does not
// change, where req/s and even CPU µs per review do. `node bench/admission/instructions.mjs [REVIEWS]`
// (after `npm run build`; needs valgrind). Runs our webhook (as `mtls-injector webhook`) and the floor
// (bench/admission/floor.mjs) each under callgrind with counting off, warms each up with one review at a
// time until V8 has compiled the hot path, then counts the instructions of REVIEWS more (default 1,000),
// sent one at a time on one keep-alive connection (default 2,000, after 8,000 to warm up: with fewer, V8 had
// not finished compiling and the counts were ~10 % higher). Prints the counts and writes nothing.
// BENCH_BODY picks the body (rollout, the default, or varying: bench/admission/review.mjs); every review
// gets its own id.
//
// Under valgrind everything runs ~50 times slower: a run takes minutes. The count covers the server's own
// threads (the JIT's compiler and the GC's helpers included), not the kernel.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { freePort, localhostCertificate, postOnce } from './measure.mjs';
import { benchReviewText, withId } from './review.mjs';

const REVIEWS = Number(process.argv[2] ?? 2000);
const WARMUP_REVIEWS = Number(process.env['BENCH_WARMUP_REVIEWS'] ?? 8000);
// BENCH_OURS_MAIN runs another build of ours (a copy of dist/ with one change, for an A/B count).
const MAIN = process.env['BENCH_OURS_MAIN'] ?? fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./floor.mjs', import.meta.url));
const PATH = '/mutate?timeout=5s';

const { dir, certFile, keyFile } = localhostCertificate('mtls-instructions-');
const body = benchReviewText(process.env['BENCH_BODY'] ?? 'rollout');
let sent = 0;

/** Starts `args` under callgrind with counting off; resolves once `ready(line)` holds for a stdout line. */
async function underCallgrind(name, args, env, ready) {
  const out = join(dir, `${name}.callgrind`);
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      // V8 writes and rewrites machine code; valgrind must notice.
      '--smc-check=all-non-file',
      `--callgrind-out-file=${out}`,
      process.execPath,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t) => (stderr += t));
  await new Promise((resolve, reject) => {
    let tail = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      const lines = (tail + text).split('\n');
      tail = lines.pop() ?? '';
      if (lines.some(ready)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before serving:\n${stderr}`)));
  });
  return { child, out, pid: child.pid };
}

/** Sends `count` reviews one at a time on one keep-alive TLS connection; every answer must be a 200. */
async function sendSequentially(port, count) {
  const head = Buffer.from(
    `POST ${PATH} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(withId(body, 0))}\r\n\r\n`,
  );
  const socket = await new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  });
  let buffer = Buffer.alloc(0);
  let pending;
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buffer.toString('latin1', 0, end);
    const total = end + 4 + Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (buffer.length < total) return;
    buffer = buffer.subarray(total);
    pending?.(head.slice(9, 12));
  });
  for (let i = 0; i < count; i++) {
    const status = await new Promise((resolve) => {
      pending = resolve;
      socket.write(Buffer.concat([head, Buffer.from(withId(body, sent++))]));
    });
    if (status !== '200') throw new Error(`answer ${status} to review ${i}`);
  }
  socket.destroy();
}

/** callgrind_control on one process: `-i on|off` switches counting, `-d` dumps the counts. */
function control(pid, ...args) {
  execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });
}

/** The total instruction count (Ir) in a callgrind output file; 0 for the empty file of a killed run. */
function totalInstructions(file) {
  const match = /^totals: (\d+)/m.exec(readFileSync(file, 'utf8'));
  return match === null ? 0 : Number(match[1]);
}

async function measure(name, server) {
  await sendSequentially(server.port, WARMUP_REVIEWS);
  control(server.pid, '-i', 'on');
  await sendSequentially(server.port, REVIEWS);
  control(server.pid, '-i', 'off');
  control(server.pid, '-d');
  server.child.kill('SIGKILL');
  const files = execFileSync('sh', ['-c', `ls ${server.out}*`], { encoding: 'utf8' })
    .trim()
    .split('\n');
  const instructions = files.reduce((sum, f) => sum + totalInstructions(f), 0);
  if (instructions === 0) throw new Error(`callgrind counted nothing for ${name} (${files.join(', ')})`);
  return { name, instructionsPerReview: instructions / REVIEWS };
}

const oursPort = await freePort();
const ours = await underCallgrind(
  'ours',
  [MAIN, 'webhook'],
  {
    MTLS_INJECTOR_WEBHOOK_PORT: String(oursPort),
    MTLS_INJECTOR_WEBHOOK_PROBE_PORT: String(await freePort()),
    MTLS_INJECTOR_WEBHOOK_HOST: '127.0.0.1',
    MTLS_INJECTOR_WEBHOOK_TLS_CERT: certFile,
    MTLS_INJECTOR_WEBHOOK_TLS_KEY: keyFile,
  },
  (line) => line.includes('"msg":"webhook listening"'),
);
ours.port = oursPort;
const response = (await postOnce(oursPort, PATH, withId(body, 0))).text;
const oursResult = await measure('ours', ours);

// BENCH_KEEP=1 keeps the callgrind files (for callgrind_annotate) and prints where they are.
const cleanUp = () =>
  process.env['BENCH_KEEP'] === '1'
    ? console.log(`callgrind files in ${dir}`)
    : rmSync(dir, { recursive: true, force: true });
if (process.env['BENCH_FLOOR'] === '0') {
  cleanUp();
  console.log(
    `ours ${Math.round(oursResult.instructionsPerReview).toLocaleString('en-US')} instructions per review (${MAIN})`,
  );
  process.exit(0);
}
const floorPort = await freePort();
const floor = await underCallgrind(
  'floor',
  [FLOOR, '--standalone'],
  {
    BENCH_FLOOR_PORT: String(floorPort),
    BENCH_FLOOR_CERT: certFile,
    BENCH_FLOOR_KEY: keyFile,
    BENCH_FLOOR_RESPONSE: response,
  },
  (line) => line.includes('floor listening'),
);
floor.port = floorPort;
const floorResult = await measure('floor', floor);
cleanUp();

for (const r of [oursResult, floorResult])
  console.log(
    `${r.name.padEnd(6)} ${Math.round(r.instructionsPerReview).toLocaleString('en-US')} instructions per review`,
  );
console.log(
  `ours / floor: ${(oursResult.instructionsPerReview / floorResult.instructionsPerReview).toFixed(2)}× (${REVIEWS} reviews each, one at a time, after ${WARMUP_REVIEWS} to warm up)`,
);
