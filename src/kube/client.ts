import { existsSync } from 'node:fs';
import { Agent } from 'node:https';
import { delimiter } from 'node:path';
import {
  ApiException,
  type ConfigurationOptions,
  KubeConfig,
  Observable,
  type RequestContext,
} from '@kubernetes/client-node';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { type CallOptions, KubeApiError } from './types.js';

/**
 * The deadline of every API call that is not given one (watches excepted: they are long by design). Without
 * it, client-node waits for ever on a connection that went half-open.
 */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/**
 * client-node 1.x builds a new https.Agent for every API call, so every call pays a TLS handshake (measured
 * on the e2e control plane: 15 ms per sequential GET, and the rotator issued only ~25 Secrets/s). This
 * KubeConfig keeps one keep-alive agent with the same TLS options for all calls of the process, and gives
 * every call DEFAULT_CALL_TIMEOUT_MS unless the call sets its own deadline (`deadline()`).
 */
class KeepAliveKubeConfig extends KubeConfig {
  private shared: Agent | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    if (context.getSignal() === undefined) context.setSignal(AbortSignal.timeout(DEFAULT_CALL_TIMEOUT_MS));
    const fresh = context.getAgent();
    if (!(fresh instanceof Agent)) return; // proxies and plain HTTP keep client-node's own agent
    this.shared ??= new Agent({ ...fresh.options, keepAlive: true, maxSockets: 32 });
    context.setAgent(this.shared);
  }
}

/**
 * Loads the kubeconfig: the file given (a `:`-separated list, like $KUBECONFIG, is merged as kubectl does,
 * skipping files that do not exist), else client-node's default chain (~/.kube/config, then the in-cluster
 * service account). API calls share keep-alive connections.
 *
 * Throws InjectorError MTLS_ERR_KUBE_CONFIG_MISSING when no file named exists or nothing in the default chain
 * is found (client-node would silently fall back to http://localhost:8080 and every call would fail with a
 * confusing TLS message), and MTLS_ERR_KUBE_CONFIG_INVALID when the file cannot be read or parsed or names no
 * current context. Messages never quote the file's content: it holds tokens and keys.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KeepAliveKubeConfig();
  if (path !== undefined && path !== '') loadFiles(kc, path);
  else {
    guard(undefined, () => kc.loadFromDefault());
    if (isClientNodeFallback(kc)) {
      throw new InjectorError(
        ErrorCode.KubeConfigMissing,
        'no kubeconfig found: --kubeconfig and $KUBECONFIG are not set, ~/.kube/config does not exist, and ' +
          'this is not a pod with a service account token; point --kubeconfig or $KUBECONFIG at the ' +
          "cluster's kubeconfig (the file kubectl uses), or create ~/.kube/config",
      );
    }
  }
  if (kc.getCurrentCluster() === null) {
    const named = path !== undefined && path !== '';
    throw new InjectorError(
      ErrorCode.KubeConfigInvalid,
      `${named ? `kubeconfig ${path}` : 'the kubeconfig'} has no usable current context (current-context is ` +
        `${JSON.stringify(kc.getCurrentContext() ?? '')}, expected the name of a context whose cluster is ` +
        `defined); pick one with \`kubectl ${named ? `--kubeconfig ${path} ` : ''}config use-context NAME\``,
    );
  }
  return kc;
}

function loadFiles(kc: KubeConfig, list: string): void {
  const files = list.split(delimiter).filter((f) => f !== '');
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) {
    const which =
      files.length === 1
        ? `kubeconfig file ${files[0]} (from --kubeconfig or $KUBECONFIG) does not exist`
        : `none of the kubeconfig files in ${list} (from --kubeconfig or $KUBECONFIG) exists`;
    throw new InjectorError(
      ErrorCode.KubeConfigMissing,
      `${which}; expected the path of a kubeconfig: fix the path, or unset it to use ~/.kube/config`,
    );
  }
  const [first, ...rest] = present as [string, ...string[]];
  guard(first, () => kc.loadFromFile(first));
  for (const file of rest) {
    const more = new KubeConfig();
    guard(file, () => more.loadFromFile(file));
    kc.mergeConfig(more, true);
  }
}

/**
 * Runs a client-node load step of `file` (undefined: the default chain), turning its errors (fs, YAML, shape)
 * into MTLS_ERR_KUBE_CONFIG_INVALID.
 */
function guard(file: string | undefined, load: () => void): void {
  try {
    load();
  } catch (err) {
    // YAML errors quote the offending line, which may be a token or key: keep only the line number.
    const line = (err as { mark?: { line?: unknown } }).mark?.line;
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : '';
    const why =
      typeof line === 'number'
        ? `is not valid YAML (line ${line + 1})`
        : typeof code === 'string'
          ? `cannot be read (${code})`
          : /^(clusters|contexts|users)\[\d+\]\S* is missing$/.test(message)
            ? `is not a valid kubeconfig (${message})`
            : 'is not a kubeconfig (expected clusters, contexts and users)';
    const what =
      file === undefined ? 'the default kubeconfig (~/.kube/config or in-cluster)' : `kubeconfig ${file}`;
    const check = file === undefined ? 'kubectl config view' : `kubectl --kubeconfig ${file} config view`;
    throw new InjectorError(ErrorCode.KubeConfigInvalid, `${what} ${why}; check it with \`${check}\``, {
      cause: err,
    });
  }
}

/**
 * client-node's loadFromDefault() ends, when it finds nothing, with a cluster "cluster" at
 * http://localhost:8080, user "user" and context "loaded-context" (src/config.ts, KubeConfig.loadFromDefault).
 */
function isClientNodeFallback(kc: KubeConfig): boolean {
  const cluster = kc.getCurrentCluster();
  return (
    kc.getCurrentContext() === 'loaded-context' &&
    cluster?.name === 'cluster' &&
    cluster.server === 'http://localhost:8080' &&
    kc.getCurrentUser()?.name === 'user'
  );
}

/**
 * Translates client-node's ApiException into KubeApiError (status kept, message from the Status body), and
 * an aborted call into an InjectorError that says it was abandoned at its deadline.
 */
function toKubeError(err: unknown, what: string, options?: CallOptions): unknown {
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'AbortError' || name === 'TimeoutError') {
    const ms = options?.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    return new InjectorError(
      ErrorCode.KubeApi,
      `${what}: no answer within ${Math.floor(ms)} ms; the request was abandoned and its connection closed`,
      { cause: err },
    );
  }
  if (err instanceof ApiException) {
    const status = (err as ApiException<unknown>).code;
    return new KubeApiError(
      status,
      `${what}: HTTP ${status} ${statusMessage((err as ApiException<unknown>).body)}`,
      {
        cause: err,
      },
    );
  }
  return err;
}

/** The client-node options of one call, as `deadline()` builds them. */
export type ClientOptions = ConfigurationOptions;

/**
 * client-node options that abort the call after `options.timeoutMs` (default DEFAULT_CALL_TIMEOUT_MS),
 * appended to `base` (a call that has its own middleware, like the raw-body reads).
 */
export function deadline(options?: CallOptions, base?: ClientOptions): ClientOptions {
  const timeoutMs = options?.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const middleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs))));
      return new Observable(Promise.resolve(ctx));
    },
    post: <T>(rsp: T) => new Observable(Promise.resolve(rsp)),
  };
  return {
    ...base,
    middleware: [...(base?.middleware ?? []), middleware],
    middlewareMergeStrategy: 'append',
  };
}

/** Runs an API call, translating its error (and an abort at its deadline) into KubeApiError/InjectorError. */
export async function call<T>(what: string, fn: () => Promise<T>, options?: CallOptions): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKubeError(err, what, options);
  }
}

/** Like `call`, but a 404 answers undefined. */
export async function callOrUndefined<T>(
  what: string,
  fn: () => Promise<T>,
  options?: CallOptions,
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiException && (err as ApiException<unknown>).code === 404) return undefined;
    throw toKubeError(err, what, options);
  }
}

function statusMessage(body: unknown): string {
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      return body.slice(0, 300);
    }
  }
  if (
    body !== null &&
    typeof body === 'object' &&
    typeof (body as { message?: unknown }).message === 'string'
  ) {
    return (body as { message: string }).message;
  }
  return '';
}
