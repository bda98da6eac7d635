import { execFileSync, spawnSync } from 'node:child_process';
import { connect } from 'node:tls';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoreV1Api, V1Pod, V1Secret } from '@kubernetes/client-node';
import { images, readEnvFile, waitFor } from './helpers.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const e2eDir = join(repoRoot, '.e2e');
export const MANAGED = 'mtls-injector.io/managed';
export const SECRET_ANNOTATION = 'mtls-injector.io/secret';

/** What scripts/e2e/product.sh recorded: the namespace the chart is installed in. */
export function productEnv(): { installNamespace: string } {
  const env = readEnvFile(join(e2eDir, 'product.env'));
  return { installNamespace: env.INSTALL_NAMESPACE ?? 'mtls-injector' };
}

/**
 * Runs a script with scripts/e2e/lib.sh and node.sh sourced (in_sandbox, ctr_k8s, kc …) and the sandbox
 * loaded; returns its stdout and stderr. Throws with stderr when it fails.
 */
export function e2eShell(script: string): string {
  const result = spawnSync(
    'bash',
    [
      '-c',
      `set -euo pipefail; source scripts/e2e/lib.sh; source scripts/e2e/node.sh; load_sandbox; ${script}`,
    ],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`e2e shell failed (${script}): ${result.stderr}`);
  return result.stdout + result.stderr;
}

/** `kubectl <args>` (the one setup-tools.sh installs) with the admin kubeconfig; throws on failure. */
export function kubectl(args: readonly string[]): string {
  return execFileSync(
    join(repoRoot, '.tools/bin/kubectl'),
    ['--kubeconfig', join(e2eDir, 'kubeconfig'), ...args],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

/** The chart's running pods of one component (webhook or rotator), not being deleted. */
export async function productPods(core: CoreV1Api, component: 'webhook' | 'rotator'): Promise<V1Pod[]> {
  const list = await core.listNamespacedPod({
    namespace: productEnv().installNamespace,
    labelSelector: `app.kubernetes.io/component=${component}`,
  });
  return list.items.filter((p) => p.metadata?.deletionTimestamp === undefined);
}

/** Scales a Deployment of the chart and waits until exactly that many of its pods are Ready (and no others). */
export async function scaleProduct(
  core: CoreV1Api,
  component: 'webhook' | 'rotator',
  replicas: number,
  timeoutMs = 120_000,
): Promise<void> {
  kubectl([
    '-n',
    productEnv().installNamespace,
    'scale',
    `deployment/mtls-injector-${component}`,
    `--replicas=${replicas}`,
  ]);
  await waitFor(
    `${replicas} ready ${component} pod(s)`,
    async () => {
      const all = await core.listNamespacedPod({
        namespace: productEnv().installNamespace,
        labelSelector: `app.kubernetes.io/component=${component}`,
      });
      const ready = all.items.filter((p) =>
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return all.items.length === replicas && ready.length === replicas;
    },
    { timeoutMs, intervalMs: 500 },
  );
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

/**
 * A plain pod running the pause image. `unschedulable` gives it a node selector no node matches, so it stays
 * Pending: for tests of admission and the rotator that create many pods and need none of them to run.
 */
export function plainPod(
  generateName: string,
  extra: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    serviceAccountName?: string;
    unschedulable?: boolean;
  } = {},
): V1Pod {
  return {
    metadata: { generateName, labels: extra.labels ?? {}, annotations: extra.annotations ?? {} },
    spec: {
      ...(extra.serviceAccountName === undefined ? {} : { serviceAccountName: extra.serviceAccountName }),
      ...(extra.unschedulable === true ? { nodeSelector: { 'mtls-e2e.test/no-such-node': 'true' } } : {}),
      containers: [{ name: 'app', image: images().pause }],
    },
  };
}

/** Reads a Prometheus gauge or counter from a pod's /metrics (sum over label sets); pod IPs are routed from the host. */
export async function metric(podIp: string, port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://${podIp}:${port}/metrics`)).text();
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

/**
 * Every Secret labelled mtls-injector.io/managed=true that something still reads: the webhook's, and those of
 * pods that run or will run. A finished pod's Secret stays until the pod is deleted, but the rotator leaves it
 * alone and `ca rotate` does not wait for it (secretsInUse in src/model/ca-rotation.ts).
 */
export async function managedSecrets(core: CoreV1Api): Promise<V1Secret[]> {
  const secrets = (await core.listSecretForAllNamespaces({ labelSelector: `${MANAGED}=true` })).items;
  const pods = (await core.listPodForAllNamespaces({ labelSelector: `${MANAGED}=true` })).items;
  const live = new Set(
    pods
      .filter((p) => p.metadata?.deletionTimestamp === undefined)
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .map((p) => p.metadata?.uid),
  );
  return secrets.filter((s) => {
    const owners = (s.metadata?.ownerReferences ?? []).filter((o) => o.kind === 'Pod');
    return owners.length === 0 || owners.some((o) => live.has(o.uid));
  });
}

/** Number of certificates in a PEM bundle. */
export function certCount(pem: string): number {
  return (pem.match(/BEGIN CERTIFICATE/g) ?? []).length;
}

/** The webhook's HTTPS port in its pod (chart value webhook.port). */
const WEBHOOK_PORT = 10250;

/** True if the webhook at podIp completes a handshake whose chain verifies against `rootPem` alone. */
export function servesChainTo(podIp: string, rootPem: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({
      host: podIp,
      port: WEBHOOK_PORT,
      servername: `mtls-injector-webhook.${productEnv().installNamespace}.svc`,
      ca: rootPem,
      timeout: 3000,
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A file of the CA Secret (tls.crt: the issuing CA; ca.crt: the trust bundle; next.crt during a rotation). */
export async function caSecretFile(core: CoreV1Api, file: string): Promise<string> {
  const s = await core.readNamespacedSecret({
    namespace: productEnv().installNamespace,
    name: 'mtls-injector-ca',
  });
  return Buffer.from(s.data?.[file] ?? '', 'base64').toString('utf8');
}

/** n pods that stay Pending (the rotator issues their Secrets all the same; nothing needs to run them). */
export async function createPendingPods(core: CoreV1Api, ns: string, n: number): Promise<V1Pod[]> {
  const pods: V1Pod[] = [];
  for (let i = 0; i < n; i++)
    pods.push(
      await core.createNamespacedPod({ namespace: ns, body: plainPod('p-', { unschedulable: true }) }),
    );
  return pods;
}

/** What the rotator published in the delivery facts ConfigMap: whether this release serves PodCertificateRequests. */
export function deliveryFacts(): { podCertificateRequests: string | null; serverVersion: string } {
  return JSON.parse(
    kubectl([
      '-n',
      productEnv().installNamespace,
      'get',
      'configmap',
      'mtls-injector-delivery',
      '-o',
      'jsonpath={.data.delivery\\.json}',
    ]),
  ) as { podCertificateRequests: string | null; serverVersion: string };
}
