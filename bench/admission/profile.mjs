// Profiles one server of the admission benchmark under load: `node bench/admission/profile.mjs ours|floor
// CONNECTIONS [SECONDS]` (after `npm run build`); BENCH_BODY picks the body (rollout, the default, or varying:
// bench/admission/review.mjs). The server runs with `--cpu-prof` (and any flags in
// BENCH_PROFILE_FLAGS, e.g. "--trace-gc"); the load is the bench's client. Prints where the server's CPU
// went, in µs per review, by function and by module, from the profile's samples taken during the load, and
// leaves the .cpuprofile (for Chrome DevTools or speedscope) in the directory it names.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { localhostCertificate, postOnce, runLoad, startServer, stopServer } from './measure.mjs';
import { benchReviewText, withId } from './review.mjs';

const [kind = 'ours', connectionsArg = '16', secondsArg = '5'] = process.argv.slice(2);
const connections = Number(connectionsArg);
const seconds = Number(secondsArg);
const { dir, certFile, keyFile } = localhostCertificate('mtls-profile-');
const body = benchReviewText(process.env['BENCH_BODY'] ?? 'rollout');
const flags = [
  '--cpu-prof',
  `--cpu-prof-dir=${dir}`,
  '--cpu-prof-interval=100',
  ...(process.env['BENCH_PROFILE_FLAGS'] ?? '').split(' ').filter((f) => f !== ''),
];

let response;
if (kind === 'floor') {
  const ours = await startServer('ours', { certFile, keyFile });
  response = (await postOnce(ours.port, '/mutate', withId(body, 0))).text;
  await stopServer(ours);
}
const server = await startServer(kind, { certFile, keyFile, response }, flags);
const job = {
  client: process.env['BENCH_CLIENT'] ?? 'autocannon',
  port: server.port,
  path: '/mutate',
  body,
  connections,
  warmupMs: 2000,
  durationMs: seconds * 1000,
};
const result = await runLoad(job, server.pid);
await stopServer(server);

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
let t = profile.startTime;
const times = profile.samples.map((_, i) => (t += profile.timeDeltas[i] ?? 0));
// Samples of the measured window only: the `seconds` in which the main thread was busiest (the load). Not the
// last `seconds` before the last busy sample: the deadline sweep's timer keeps the thread briefly busy after
// the load, and on a loaded machine the server is stopped seconds later, past the window.
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const busyAt = profile.samples.map((id, i) => (idleIds.has(id) ? 0 : (profile.timeDeltas[i + 1] ?? 0)));
let from = times[0];
let lastBusy = 0;
{
  let best = -1;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    sum += busyAt[hi];
    while (times[hi] - times[lo] > seconds * 1e6) sum -= busyAt[lo++];
    if (sum > best) {
      best = sum;
      from = times[lo];
      lastBusy = hi;
    }
  }
}
const selfByFn = new Map();
const selfByModule = new Map();
let busy = 0;
for (let i = 0; i < profile.samples.length; i++) {
  if (times[i] < from || times[i] > times[lastBusy]) continue;
  const id = profile.samples[i];
  if (idleIds.has(id)) continue;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const frame = nodes.get(id).callFrame;
  const url = frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/');
  const name = `${frame.functionName || '(anonymous)'} ${url}${url === '' ? '' : `:${frame.lineNumber + 1}`}`;
  selfByFn.set(name, (selfByFn.get(name) ?? 0) + dt);
  const module =
    url === ''
      ? frame.functionName
      : url.startsWith('node:')
        ? url.split('/').slice(0, 2).join('/')
        : url.startsWith('dist/')
          ? url.split('/').slice(0, 3).join('/')
          : url.split('/')[0];
  selfByModule.set(module, (selfByModule.get(module) ?? 0) + dt);
  busy += dt;
}
const perReview = (us) => (us / result.requests).toFixed(2).padStart(7);
const top = (map, n) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => `${perReview(us)} µs  ${name}`)
    .join('\n');
console.log(
  `${kind}, ${connections} connection(s): ${Math.round(result.requestsPerSecond)} req/s, ${result.cpuMicrosPerReview.toFixed(1)} µs CPU per review (/proc, all threads); main thread busy ${perReview(busy)} µs per review (profile)\n`,
);
console.log(`by module (self time, µs per review):\n${top(selfByModule, 25)}\n`);
console.log(`by function:\n${top(selfByFn, Number(process.env['BENCH_PROFILE_TOP'] ?? 40))}\n`);
console.log(`profile: ${join(dir, file)}`);
