// mtls-init's own run time (docs/using-mtls.md, "Start-up time and the init container"): on files that verify
// at once, the static Go binary Linux pods run (cmd/mtls-init, `command: ['/app/bin/mtls-init']`) beside the
// bundled Node command Windows pods run (`node dist/main.js init`) and `node -e 0` (Node's own start-up) on the
// same Node binary. It is the part of a pod's start that mtls-init adds once its files are mounted; the
// container start itself (runc, the rootfs) is what bench/pod-startup.mjs's bare-init variant measures.
//
//   npm run bench:init                          Node from $BENCH_NODE (default: the node running this script)
//   BENCH_NODE=.tools/node-24/bin/node BENCH_RUNS=200 npm run bench:init
//   BENCH_MAIN=/elsewhere/dist/main.js         another build of the CLI (same Node, same files)
//   BENCH_GO_INIT=/path/to/mtls-init           a built Go binary (default: built here with $GO or /usr/local/go)
//   BENCH_BLOCK=10                             runs per block; the commands alternate block by block
//
// The commands take turns in blocks of BENCH_BLOCK runs (the order rotates every block), so a load that drifts
// during the run weighs on each alike. CPU (user + system) is read from /proc/self/stat's cutime + cstime
// around each block: the kernel sums each reaped child's exact run time there, so a block's total is exact to
// the 10 ms tick of the reading, and the per-run figure over BENCH_RUNS runs to 10 ms / BENCH_BLOCK per block.
// Prints one JSON line per command: wall p50/p90 ms and CPU ms per run, which is what many pods starting at
// once on one node compete for. Nothing here asserts a time.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRootCa } from '../dist/pki/ca.js';
import { issueLeaf } from '../dist/pki/issue.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = process.env.BENCH_NODE ?? process.execPath;
const RUNS = Number(process.env.BENCH_RUNS ?? 100);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 10);
/** The CLI to run (another build, for a comparison at the same load). */
const MAIN = process.env.BENCH_MAIN ?? 'dist/main.js';
const GO = process.env.GO ?? '/usr/local/go/bin/go';

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
const podEnv = {
  MTLS_POD_NAMESPACE: 'bench',
  MTLS_POD_SERVICE_ACCOUNT: 'web',
  MTLS_INJECTOR_TRUST_DOMAIN: 'cluster.local',
};

/** The Go binary: BENCH_GO_INIT, or built from cmd/mtls-init as the Dockerfile builds it. */
function goInit() {
  if (process.env.BENCH_GO_INIT !== undefined) return process.env.BENCH_GO_INIT;
  if (!existsSync(GO)) return undefined;
  const out = join(dir, 'mtls-init');
  execFileSync(GO, ['build', '-trimpath', '-ldflags=-s -w', '-o', out, '.'], {
    cwd: join(ROOT, 'cmd/mtls-init'),
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '' },
  });
  return out;
}

/** CPU ms (user + system) of this process's waited-for children so far: /proc/self/stat cutime + cstime. */
function childCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17, in clock ticks (USER_HZ, 100).
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

const go = goInit();
const commands = [
  { name: 'node -e 0', file: NODE, args: ['-e', '0'], env: {} },
  { name: 'mtls-injector init (Node, bundled)', file: NODE, args: [MAIN, 'init', '--dir', dir], env: podEnv },
  ...(go === undefined
    ? []
    : [{ name: 'mtls-init (Go, static)', file: go, args: ['--dir', dir], env: podEnv }]),
].map((c) => ({ ...c, walls: [], cpuMs: 0 }));

function runOnce(c) {
  const t0 = performance.now();
  // The whole environment is the pod's (plus PATH for node), as in the container.
  const run = spawnSync(c.file, c.args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...c.env },
    encoding: 'utf8',
  });
  const wall = performance.now() - t0;
  if (run.status !== 0) throw new Error(`${c.name} exited ${run.status}: ${run.stderr}`);
  return wall;
}

try {
  const version = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const loadavgBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  for (const c of commands) runOnce(c); // warm-up: page cache, the binaries' first load
  const blocks = Math.ceil(RUNS / BLOCK);
  for (let b = 0; b < blocks; b++) {
    for (let k = 0; k < commands.length; k++) {
      const c = commands[(b + k) % commands.length];
      const before = childCpuMs();
      for (let i = 0; i < BLOCK; i++) c.walls.push(runOnce(c));
      c.cpuMs += childCpuMs() - before;
    }
  }
  const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  for (const c of commands) {
    const sorted = c.walls.sort((a, b) => a - b);
    const at = (p) =>
      Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] * 10) / 10;
    console.log(
      JSON.stringify({
        name: c.name,
        node: c.file === NODE ? version : undefined,
        runs: sorted.length,
        p50Ms: at(0.5),
        p90Ms: at(0.9),
        cpuMsPerRun: Math.round((c.cpuMs / sorted.length) * 10) / 10,
        loadavgBefore,
        loadavgAfter: loadavg,
      }),
    );
  }
  if (go === undefined) console.log(JSON.stringify({ skipped: 'mtls-init (Go)', why: `no Go at ${GO}` }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
