// mtls-init's own run time (docs/using-mtls.md, "Start-up time and the init container"): the wall time of
// `node dist/main.js init` on files that verify at once, beside `node -e 0` (Node's own start-up) on the same
// Node binary. It is the part of a pod's start that mtls-init adds once its files are mounted; the container
// start itself (runc, the rootfs) is what bench/pod-startup.mjs's bare-init variant measures.
//
//   npm run bench:init                         Node from $BENCH_NODE (default: the node running this script)
//   BENCH_NODE=.tools/node-24/bin/node BENCH_RUNS=40 npm run bench:init
//   BENCH_MAIN=/elsewhere/dist/main.js        another build of the CLI (same Node, same files)
//
// Prints one JSON line per command: p50/p90 wall ms over BENCH_RUNS runs, and CPU ms (user + system) per run,
// which is what many pods starting at once on one node compete for. Nothing here asserts a time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRootCa } from '../dist/pki/ca.js';
import { issueLeaf } from '../dist/pki/issue.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = process.env.BENCH_NODE ?? process.execPath;
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
/** The CLI to run (another build, for a comparison at the same load). */
const MAIN = process.env.BENCH_MAIN ?? 'dist/main.js';

const now = new Date();
const ca = generateRootCa({
  keyAlgorithm: 'ecdsa-p256',
  trustDomain: 'cluster.local',
  lifetimeSeconds: 86_400,
  now,
});
const leaf = issueLeaf(ca, {
  spiffeId: 'spiffe://cluster.local/ns/bench/sa/web',
  keyAlgorithm: 'ecdsa-p256',
  lifetimeSeconds: 3600,
  backdateSeconds: 60,
  now,
});
const dir = mkdtempSync(join(tmpdir(), 'mtls-init-bench-'));
writeFileSync(join(dir, 'tls.crt'), leaf.certPem);
writeFileSync(join(dir, 'tls.key'), leaf.keyPem, { mode: 0o600 });
writeFileSync(join(dir, 'ca.crt'), ca.trustBundlePem);

/** CPU ms (user + system) of this process's waited-for children so far: /proc/self/stat cutime + cstime. */
function childCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17, in clock ticks (USER_HZ, 100).
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Runs `args` RUNS times (after one warm-up run): wall time per run, and CPU time per run on average. */
function measure(name, args, env = {}) {
  const walls = [];
  let cpuBefore = 0;
  for (let i = 0; i <= RUNS; i++) {
    if (i === 1) cpuBefore = childCpuMs();
    const t0 = performance.now();
    const run = spawnSync(NODE, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
    const wall = performance.now() - t0;
    if (run.status !== 0) throw new Error(`${name} exited ${run.status}: ${run.stderr}`);
    if (i === 0) continue;
    walls.push(wall);
  }
  const cpuMsPerRun = Math.round((childCpuMs() - cpuBefore) / RUNS);
  const sorted = walls.sort((a, b) => a - b);
  const at = (p) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]);
  return { name, node: NODE, runs: RUNS, p50Ms: at(0.5), p90Ms: at(0.9), cpuMsPerRun };
}

try {
  const version = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(JSON.stringify({ ...measure('node -e 0', ['-e', '0']), version }));
  console.log(
    JSON.stringify({
      ...measure('mtls-injector init', [MAIN, 'init', '--dir', dir], {
        MTLS_POD_NAMESPACE: 'bench',
        MTLS_POD_SERVICE_ACCOUNT: 'web',
        MTLS_INJECTOR_TRUST_DOMAIN: 'cluster.local',
      }),
      version,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
