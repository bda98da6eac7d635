import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoreV1Api, V1Pod, V1Secret } from '@kubernetes/client-node';
import { waitFor } from './helpers.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const e2eDir = join(repoRoot, '.e2e');
export const MANAGED = 'mtls-injector.io/managed';
export const SECRET_ANNOTATION = 'mtls-injector.io/secret';

/** Ports and names written by scripts/e2e/product.sh. */
export function productEnv(): {
  webhookPort: number;
  webhookProbePort: number;
  rotatorProbePort: number;
  installNamespace: string;
} {
  const env = Object.fromEntries(
    readFileSync(join(e2eDir, 'product.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => l.split('=') as [string, string]),
  );
  return {
    webhookPort: Number(env.WEBHOOK_PORT),
    webhookProbePort: Number(env.WEBHOOK_PROBE_PORT),
    rotatorProbePort: Number(env.ROTATOR_PROBE_PORT),
    installNamespace: env.INSTALL_NAMESPACE ?? 'mtls-injector',
  };
}

/** Runs a function of scripts/e2e/lib.sh + product.sh (start_bg, stop_one, start_webhook, start_rotator …). */
export function e2eShell(script: string, env: Record<string, string> = {}): string {
  const p = productEnv();
  const result = spawnSync(
    'bash',
    ['-c', `set -euo pipefail; source scripts/e2e/lib.sh; source scripts/e2e/product.sh; ${script}`],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      env: {
        ...process.env,
        WEBHOOK_PORT: String(p.webhookPort),
        WEBHOOK_PROBE_PORT: String(p.webhookProbePort),
        ROTATOR_PROBE_PORT: String(p.rotatorProbePort),
        ...env,
      },
    },
  );
  if (result.status !== 0) throw new Error(`e2e shell failed (${script}): ${result.stderr}`);
  return result.stdout + result.stderr;
}

/** `mtls-injector <args>` against the e2e cluster with the admin kubeconfig. */
export function cli(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync('node', [join(repoRoot, 'dist/main.js'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: join(e2eDir, 'kubeconfig') },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The decoded files of a Secret. */
export function secretFiles(secret: V1Secret): { cert: string; key: string; ca: string } {
  const d = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
  return { cert: d('tls.crt'), key: d('tls.key'), ca: d('ca.crt') };
}

/**
 * Verifies a Secret's chain with `openssl verify` against its own ca.crt (or `bundlePem`) and returns the
 * leaf's URI SAN as openssl prints it. Throws with openssl's output when verification fails.
 */
export function opensslVerify(
  secret: V1Secret,
  bundlePem?: string,
): { uri: string; serial: string; notAfter: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-e2e-'));
  const files = secretFiles(secret);
  const blocks = files.cert.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  writeFileSync(join(dir, 'leaf.pem'), blocks[0] ?? '');
  writeFileSync(join(dir, 'chain.pem'), blocks.slice(1).join('') || (blocks[0] ?? ''));
  writeFileSync(join(dir, 'ca.pem'), bundlePem ?? files.ca);
  const verify = spawnSync(
    'openssl',
    [
      'verify',
      '-CAfile',
      join(dir, 'ca.pem'),
      ...(blocks.length > 1 ? ['-untrusted', join(dir, 'chain.pem')] : []),
      join(dir, 'leaf.pem'),
    ],
    { encoding: 'utf8' },
  );
  if (verify.status !== 0) throw new Error(`openssl verify failed: ${verify.stdout}${verify.stderr}`);
  const text = execFileSync(
    'openssl',
    ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-ext', 'subjectAltName', '-serial', '-enddate'],
    {
      encoding: 'utf8',
    },
  );
  return {
    uri: /URI:(\S+)/.exec(text)?.[1] ?? '',
    serial: /serial=(\w+)/.exec(text)?.[1] ?? '',
    notAfter: /notAfter=(.+)/.exec(text)?.[1]?.trim() ?? '',
  };
}

/** Waits for the Secret a managed pod names and returns it. */
export async function secretOf(core: CoreV1Api, pod: V1Pod, timeoutMs = 30_000): Promise<V1Secret> {
  const name = pod.metadata?.annotations?.[SECRET_ANNOTATION];
  if (name === undefined) throw new Error(`pod ${pod.metadata?.name ?? ''} names no Secret (not injected)`);
  return waitFor(
    `Secret ${name}`,
    () => core.readNamespacedSecret({ namespace: pod.metadata?.namespace ?? '', name }),
    { timeoutMs },
  );
}

/** A plain pod the API server accepts (no kubelet will run it). */
export function plainPod(
  generateName: string,
  extra: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    serviceAccountName?: string;
  } = {},
): V1Pod {
  return {
    metadata: { generateName, labels: extra.labels ?? {}, annotations: extra.annotations ?? {} },
    spec: {
      ...(extra.serviceAccountName === undefined ? {} : { serviceAccountName: extra.serviceAccountName }),
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
    },
  };
}

/** Reads a Prometheus gauge or counter value from a /metrics endpoint (sum over label sets). */
export async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** p-th percentile of a sorted list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
