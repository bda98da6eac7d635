import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  AppsV1Api,
  CoreV1Api,
  V1Container,
  V1Deployment,
  V1Pod,
  V1PodSecurityContext,
} from '@kubernetes/client-node';
import { images, waitFor } from './helpers.js';
import { e2eDir, kubectl, productEnv, repoRoot } from './product.js';

// Workloads of the test app (test/e2e/app/mtls-app.mjs) as a user would run them: Deployments, Services and
// ServiceAccounts in an opted-in namespace, read back through the API server (`kubectl logs`, `kubectl exec`).

/** One JSON line the test app logged. */
export type AppLine = Record<string, unknown> & { event: string; time: string };

/** The app container: the test app with `args`, restricted securityContext (no shell in the image). */
export function appContainer(args: readonly string[], extra: Partial<V1Container> = {}): V1Container {
  return {
    name: 'app',
    image: images().app,
    args: [...args],
    // A container that ends unexpectedly reports its last log lines in lastState (the test app logs why).
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    ...extra,
  };
}

/** `serve` on 8443 with a plain-HTTP readiness probe on 8080 (a TCP probe of 8443 would log refused handshakes). */
export function serverContainer(extraArgs: readonly string[] = []): V1Container {
  return appContainer(['serve', '--port', '8443', '--health-port', '8080', ...extraArgs], {
    ports: [{ containerPort: 8443, name: 'https' }],
    readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 2 },
  });
}

/** A Deployment of `container` with its own labels `app: name`, under `serviceAccountName`. */
export function deployment(
  name: string,
  container: V1Container,
  opts: {
    serviceAccountName?: string;
    securityContext?: V1PodSecurityContext;
    replicas?: number;
  } = {},
): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          ...(opts.serviceAccountName === undefined ? {} : { serviceAccountName: opts.serviceAccountName }),
          securityContext: { runAsNonRoot: true, ...(opts.securityContext ?? {}) },
          terminationGracePeriodSeconds: 5,
          containers: [container],
        },
      },
    },
  };
}

/** Creates ServiceAccounts named `names` in `ns`. */
export async function serviceAccounts(core: CoreV1Api, ns: string, names: readonly string[]): Promise<void> {
  for (const name of names)
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
}

/** A ClusterIP Service `name` on 8443 for the pods labelled `app: name`; resolves to its ClusterIP. */
export async function httpsService(core: CoreV1Api, ns: string, name: string): Promise<string> {
  const svc = await core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ port: 8443, targetPort: 8443, name: 'https' }] },
    },
  });
  return svc.spec?.clusterIP ?? '';
}

/** True when the pod's Ready condition is True. */
export function ready(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** Live pods (not being deleted) of `ns` labelled `app: name`. */
export async function podsOf(core: CoreV1Api, ns: string, app: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items.filter(
    (p) => p.metadata?.deletionTimestamp === undefined,
  );
}

/** Waits until the Deployment has `replicas` Ready, up-to-date pods and no others; returns them. */
export async function rolledOut(
  core: CoreV1Api,
  apps: AppsV1Api,
  ns: string,
  name: string,
  timeoutMs = 180_000,
): Promise<V1Pod[]> {
  return waitFor(
    `deployment ${ns}/${name} rolled out`,
    async () => {
      const d = await apps.readNamespacedDeployment({ namespace: ns, name });
      const want = d.spec?.replicas ?? 1;
      const s = d.status;
      if (s?.observedGeneration !== d.metadata?.generation) return undefined;
      if (s?.updatedReplicas !== want || s?.readyReplicas !== want || s?.replicas !== want) return undefined;
      // The Deployment's own selector: the product's pods carry app.kubernetes.io labels, not app=<name>.
      const labelSelector = Object.entries(d.spec?.selector.matchLabels ?? { app: name })
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector })).items.filter(
        (p) => p.metadata?.deletionTimestamp === undefined,
      );
      return pods.length === want && pods.every(ready) ? pods : undefined;
    },
    { timeoutMs, intervalMs: 1000 },
  );
}

/** The JSON lines a container logged (`kubectl logs`, through the API server and the kubelet). */
export function logLines(ns: string, pod: string, container = 'app'): AppLine[] {
  return kubectl(['-n', ns, 'logs', pod, '-c', container])
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as AppLine);
}

/** Lines of `event` logged at or after `since` (epoch ms), optionally before `until`. */
export function linesOf(lines: readonly AppLine[], event: string, since = 0, until = Infinity): AppLine[] {
  return lines.filter((l) => {
    const t = Date.parse(l.time);
    return l.event === event && t >= since && t < until;
  });
}

/**
 * Runs the app image's node with `args` inside the running `app` container of `pod` (`kubectl exec`; the image
 * is distroless: no shell, node not on PATH) and returns its output.
 */
export function nodeInApp(ns: string, pod: string, args: readonly string[]): string {
  return kubectl(['-n', ns, 'exec', pod, '-c', 'app', '--', '/nodejs/bin/node', ...args]);
}

/** What the running container reads now: `whoami` executed inside it (`kubectl exec`). */
export function whoamiInside(ns: string, pod: string): AppLine {
  const out = nodeInApp(ns, pod, ['/app/mtls-app.mjs', 'whoami']);
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`whoami in ${ns}/${pod} printed nothing: ${out}`);
  return JSON.parse(line) as AppLine;
}

/** SHA-256 fingerprint of a PEM certificate, as node and the test app print it (AA:BB:…). */
export function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** The installed configuration (the chart's ConfigMap) as a file for `mtls-injector --config`. */
export function installedConfigFile(): string {
  const text = kubectl([
    '-n',
    productEnv().installNamespace,
    'get',
    'configmap',
    'mtls-injector-config',
    '-o',
    'jsonpath={.data.config\\.yaml}',
  ]);
  const file = join(mkdtempSync(join(tmpdir(), 'mtls-e2e-config-')), 'installed.yaml');
  writeFileSync(file, text);
  return file;
}

/** `mtls-injector <args>` as a child process, without blocking this process (watches keep running). */
export function cliAsync(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [join(repoRoot, 'dist/main.js'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, KUBECONFIG: join(e2eDir, 'kubeconfig') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** p-th percentile of numbers (sorted here). */
export function percentileOf(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

/** Writes a JSON report of an e2e measurement to .vitest/ (kept by CI beside the test reports). */
export function writeReport(name: string, report: unknown): void {
  const dir = join(repoRoot, '.vitest');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
}
