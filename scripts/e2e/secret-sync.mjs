// Plays the kubelet for a Secret volume of a process that runs outside the cluster: polls the Secret and
// projects its keys into DIR the way the kubelet's atomic writer does (a timestamped directory, a `..data`
// symlink swapped by rename, and one symlink per key), so the webhook's hot reload sees what it sees in a pod.
//
//   node scripts/e2e/secret-sync.mjs <namespace> <secret> <dir> [interval-ms]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [namespace, name, dir, intervalArg] = process.argv.slice(2);
const interval = Number(intervalArg ?? 2000);
const kubeconfig = new URL('../../.e2e/kubeconfig', import.meta.url).pathname;
let lastVersion = '';
let stopped = false;
process.on('SIGTERM', () => (stopped = true));
process.on('SIGINT', () => (stopped = true));

function project(data) {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}`;
  mkdirSync(join(dir, stamp), { mode: 0o755 });
  for (const [key, value] of Object.entries(data))
    writeFileSync(join(dir, stamp, key), Buffer.from(value, 'base64'), { mode: 0o600 });
  const previous = existsSync(join(dir, '..data')) ? readlinkSync(join(dir, '..data')) : undefined;
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const key of Object.keys(data))
    if (!existsSync(join(dir, key))) symlinkSync(join('..data', key), join(dir, key));
  if (previous !== undefined) rmSync(join(dir, previous), { recursive: true, force: true });
}

while (!stopped) {
  try {
    const secret = JSON.parse(
      execFileSync(
        'kubectl',
        ['--kubeconfig', kubeconfig, '-n', namespace, 'get', 'secret', name, '-o', 'json'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      ),
    );
    if (secret.metadata.resourceVersion !== lastVersion) {
      project(secret.data ?? {});
      lastVersion = secret.metadata.resourceVersion;
      console.log(
        `${new Date().toISOString()} projected ${namespace}/${name} at resourceVersion ${lastVersion}`,
      );
    }
  } catch {
    // Not there yet (the rotator creates it) or the API is restarting: the kubelet retries too.
  }
  await new Promise((r) => setTimeout(r, interval));
}
