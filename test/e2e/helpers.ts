import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApiException, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';

/** The admin kubeconfig written by scripts/e2e/control-plane.sh (override with MTLS_E2E_KUBECONFIG). */
export const kubeconfigPath =
  process.env.MTLS_E2E_KUBECONFIG ?? fileURLToPath(new URL('../../.e2e/kubeconfig', import.meta.url));

/** KEY=value lines of a file written by the e2e scripts (e.g. .e2e/images.env, .e2e/sandbox.env). */
export function readEnvFile(path: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]),
  );
}

/** The images scripts/e2e/images.sh built and the node imported (.e2e/images.env); init: mtls-init's own. */
export function images(): { product: string; init: string; app: string; pause: string } {
  const env = readEnvFile(fileURLToPath(new URL('../../.e2e/images.env', import.meta.url)));
  const get = (k: string): string => {
    const v = env[k];
    if (v === undefined) throw new Error(`.e2e/images.env has no ${k}: run npm run e2e:up`);
    return v;
  };
  return {
    product: get('PRODUCT_IMAGE'),
    init: get('INIT_IMAGE'),
    app: get('APP_IMAGE'),
    pause: get('PAUSE_IMAGE'),
  };
}

export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

/** HTTP status of a failed API call, or undefined if `err` is not an API error. */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? (err as ApiException<unknown>).code : undefined;
}

/** Runs `call`; resolves to the API error it failed with (the call must fail). */
export async function apiError(call: () => Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await call();
  } catch (err) {
    if (err instanceof ApiException) return err as ApiException<unknown>;
    throw err;
  }
  throw new Error('expected the API call to fail, it succeeded');
}

/** The `message` of the Status an API error carries (client-node 1.x keeps the raw JSON body). */
export function statusMessage(err: ApiException<unknown>): string {
  const body = err.body;
  try {
    const status: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    if (status && typeof status === 'object' && 'message' in status && typeof status.message === 'string') {
      return status.message;
    }
  } catch {
    // not JSON: fall through to the raw body
  }
  return String(body);
}

/** Resolves true if `read` 404s, false if it succeeds; rethrows anything else. */
export async function isGone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if (apiStatus(err) === 404) return true;
    throw err;
  }
}

/**
 * Polls `probe` until it returns a value other than undefined/false, and returns that value.
 * Errors thrown by `probe` are retried; the last one is reported on timeout.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  { timeoutMs = 60_000, intervalMs = 250 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: last error: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The namespace label that chooses a namespace's delivery (src/core/delivery.ts). */
export const DELIVERY_LABEL = 'mtls-injector.io/delivery';

/**
 * Creates a uniquely named namespace and waits until its `default` ServiceAccount exists. The product is
 * installed with delivery.mode=auto, which on a release serving Pod Certificates gives podCertificate volumes;
 * suites written for Secrets get namespaces labelled `mtls-injector.io/delivery=secret` unless `labels` set
 * that label themselves or `defaultDelivery` is false (a namespace that leaves the choice to `auto`).
 */
export async function createTestNamespace(
  core: CoreV1Api,
  prefix: string,
  labels: Record<string, string> = {},
  defaultDelivery = true,
): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const all =
    defaultDelivery && !(DELIVERY_LABEL in labels) ? { ...labels, [DELIVERY_LABEL]: 'secret' } : labels;
  await core.createNamespace({ body: { metadata: { name, labels: all } } });
  await waitFor(`serviceaccount default in ${name}`, () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace: name }),
  );
  return name;
}

/**
 * The test namespaces of one suite: `create` makes one (createTestNamespace) and remembers it, `deleteAll`
 * (for afterAll) deletes every one it made.
 */
export function testNamespaces(core: CoreV1Api): {
  create: (prefix: string, labels?: Record<string, string>, defaultDelivery?: boolean) => Promise<string>;
  deleteAll: () => Promise<void>;
} {
  const names: string[] = [];
  return {
    create: async (prefix, labels = {}, defaultDelivery = true) => {
      const name = await createTestNamespace(core, prefix, labels, defaultDelivery);
      names.push(name);
      return name;
    },
    deleteAll: async () => {
      await Promise.all(names.splice(0).map((name) => deleteNamespace(core, name)));
    },
  };
}

/** Deletes a namespace without waiting for finalization; ignores 404. */
export async function deleteNamespace(core: CoreV1Api, name: string): Promise<void> {
  await isGone(() => core.deleteNamespace({ name }));
}

/** A pod that satisfies the PodSecurity `restricted` profile. */
export function restrictedPod(name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'app',
          image: images().pause,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}
