import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEnvFile } from '../helpers.js';
import { e2eDir, repoRoot } from '../product.js';

// Runs after the e2e suites (scripts/e2e/test.sh, test/e2e/vitest.teardown.config.ts): takes the cluster
// down with `npm run e2e:down` and proves that nothing of it is left, while another checkout's sandbox,
// started alongside, keeps running. Every check here reads the machine directly (/proc, ip, iptables-save,
// /sys/fs/cgroup), not the harness's own bookkeeping.

function run(cmd: string, args: readonly string[], cwd = repoRoot): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const inode = (path: string): number | undefined => {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
};

/** A process's start time (field 22 of /proc/PID/stat): with the PID, names one process for good. */
const startTime = (pid: string): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
  } catch {
    return undefined;
  }
};

/** Processes seen in the sandbox's namespaces, as PID:start time (see pidsIn). */
const seen = new Set<string>();

/**
 * PIDs whose network or mount namespace is the given one. Once a namespace is freed the kernel hands its
 * number to the next one (another checkout's pod, say), so after the sandbox is gone a process counts only if
 * it is in both, or is one that was seen in either while the sandbox's holder still ran.
 */
function pidsIn(netns: number, mntns: number, alive: boolean): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      const net = inode(`/proc/${d}/ns/net`) === netns;
      const mnt = inode(`/proc/${d}/ns/mnt`) === mntns;
      if (!net && !mnt) return false;
      const id = `${d}:${startTime(d) ?? '?'}`;
      if (alive || (net && mnt)) seen.add(id);
      return (net && mnt) || seen.has(id);
    })
    .map(Number);
}

const hierarchies = (): string[] =>
  readdirSync('/sys/fs/cgroup')
    .map((h) => join('/sys/fs/cgroup', h))
    .filter((h) => existsSync(join(h, 'cgroup.procs')));

/** Everything of one sandbox (its recorded sandbox.env) that still exists on this machine. */
function leftovers(env: Record<string, string>, checkoutE2eDir: string): string[] {
  const found: string[] = [];
  const alive = inode(`/proc/${env.HOLDER_PID}/ns/net`) === Number(env.NETNS);
  const pids = pidsIn(Number(env.NETNS), Number(env.MNTNS), alive);
  if (pids.length > 0) found.push(`processes in the sandbox's namespaces: ${pids.join(' ')}`);
  if (run('ip', ['link', 'show', env.HOST_LINK ?? '']).code === 0) found.push(`link ${env.HOST_LINK}`);
  for (const cidr of [env.POD_CIDR, env.SERVICE_CIDR])
    if (run('ip', ['route', 'show', cidr ?? '']).out.trim() !== '') found.push(`route ${cidr}`);
  for (const h of hierarchies())
    if (existsSync(join(h, env.CGROUP_ROOT ?? ''))) found.push(`cgroup ${join(h, env.CGROUP_ROOT ?? '')}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(checkoutE2eDir));
  if (mounts.length > 0) found.push(`mounts: ${mounts.join('; ')}`);
  const rules = run('iptables-save', []).out.split('\n');
  for (const cidr of [env.POD_CIDR, env.SERVICE_CIDR])
    if (rules.some((r) => r.includes((cidr ?? '').split('/')[0] ?? '-')))
      found.push(`host iptables rule naming ${cidr}`);
  if (existsSync(join(env.SLOTS_DIR ?? '/run/mtls-e2e', `slot-${env.SLOT}`))) found.push(`slot ${env.SLOT}`);
  const procs = run('pgrep', ['-af', `${checkoutE2eDir}/`]).out.trim();
  if (procs !== '') found.push(`processes using ${checkoutE2eDir}: ${procs}`);
  if (existsSync(checkoutE2eDir)) found.push(checkoutE2eDir);
  return found;
}

/** A checkout holding only the sandbox scripts: its own .e2e/, its own slot. */
function scriptsOnlyCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-e2e-other-checkout-'));
  mkdirSync(join(dir, 'scripts/e2e'), { recursive: true });
  for (const f of ['lib.sh', 'sandbox.sh'])
    cpSync(join(repoRoot, 'scripts/e2e', f), join(dir, 'scripts/e2e', f));
  return dir;
}
const sandbox = (checkout: string, verb: string) =>
  run('bash', [join(checkout, 'scripts/e2e/sandbox.sh'), verb], checkout);

const other = scriptsOnlyCheckout();
const checkouts = [other];
afterAll(() => {
  for (const c of checkouts) {
    if (existsSync(join(c, '.e2e'))) sandbox(c, 'down');
    rmSync(c, { recursive: true, force: true });
  }
});

describe('a stale sandbox record', () => {
  it('whose slot another checkout has reclaimed is forgotten, and the new owner keeps running', async () => {
    const stale = scriptsOnlyCheckout();
    const owner = scriptsOnlyCheckout();
    checkouts.push(stale, owner);
    expect(sandbox(stale, 'up').code).toBe(0);
    const old = readEnvFile(join(stale, '.e2e/sandbox.env'));
    // The holder dies (a crashed machine, a killed session): its namespaces, veth pair and routes go with it.
    process.kill(Number(old.HOLDER_PID), 'SIGKILL');
    for (let i = 0; run('ip', ['link', 'show', old.HOST_LINK ?? '']).code === 0; i++) {
      expect(i, `link ${old.HOST_LINK} outlived its namespace`).toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The lowest free slot is the dead one: the next checkout reclaims it, with its cgroup root and link name.
    const up = sandbox(owner, 'up');
    expect(up.code, up.out).toBe(0);
    const theirs = readEnvFile(join(owner, '.e2e/sandbox.env'));
    expect(theirs.SLOT, up.out).toBe(old.SLOT);

    const down = sandbox(stale, 'down');
    expect(down.code, down.out).toBe(0);
    expect(down.out).toContain(`slot ${old.SLOT} is no longer this checkout's`);
    expect(existsSync(join(stale, '.e2e/sandbox.env'))).toBe(false);
    // The new owner was not touched: its holder, its link, its cgroup root.
    expect(inode(`/proc/${theirs.HOLDER_PID}/ns/net`)).toBe(Number(theirs.NETNS));
    expect(run('ip', ['link', 'show', theirs.HOST_LINK ?? '']).code).toBe(0);
    for (const h of hierarchies()) expect(existsSync(join(h, theirs.CGROUP_ROOT ?? '-'))).toBe(true);

    expect(sandbox(owner, 'down').code).toBe(0);
    expect(leftovers(theirs, join(owner, '.e2e')).filter((l) => !l.startsWith(join(owner, '.e2e')))).toEqual(
      [],
    );
  }, 60_000);
});

describe('npm run e2e:down', () => {
  it('leaves nothing behind, and leaves another checkout’s sandbox running', () => {
    expect(existsSync(join(e2eDir, 'sandbox.env')), 'run after npm run e2e:up').toBe(true);
    const ours = readEnvFile(join(e2eDir, 'sandbox.env'));
    // Before: the things the checks look for do exist (so the checks can fail).
    expect(leftovers(ours, e2eDir).length).toBeGreaterThan(4);

    const up = sandbox(other, 'up');
    expect(up.code, up.out).toBe(0);
    const theirs = readEnvFile(join(other, '.e2e/sandbox.env'));
    expect(theirs.SLOT).not.toBe(ours.SLOT);
    expect(theirs.POD_CIDR).not.toBe(ours.POD_CIDR);

    const down = run('npm', ['run', 'e2e:down']);
    expect(down.code, down.out).toBe(0);
    expect(leftovers(ours, e2eDir)).toEqual([]);
    // No container or shim survives: none runs from this checkout's containerd, and the sandbox (where the
    // shims and runc live) has no process left (checked above).
    expect(run('pgrep', ['-af', 'containerd-shim']).out).not.toContain(e2eDir);

    // The other checkout's sandbox was not touched.
    expect(inode(`/proc/${theirs.HOLDER_PID}/ns/net`)).toBe(Number(theirs.NETNS));
    expect(run('ip', ['link', 'show', theirs.HOST_LINK ?? '']).code).toBe(0);

    // Idempotent: a second down finds nothing to do and succeeds.
    const again = run('npm', ['run', 'e2e:down']);
    expect(again.code, again.out).toBe(0);

    const otherDown = sandbox(other, 'down');
    expect(otherDown.code, otherDown.out).toBe(0);
    rmSync(join(other, '.e2e'), { recursive: true, force: true });
    expect(leftovers(theirs, join(other, '.e2e'))).toEqual([]);
  }, 120_000);
});
