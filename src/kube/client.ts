import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { KubeApiError } from './types.js';

/**
 * Loads the kubeconfig: the file given, else client-node's default chain ($KUBECONFIG, ~/.kube/config,
 * in-cluster service account).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined && path !== '') kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** Translates client-node's ApiException into KubeApiError (status kept, message from the Status body). */
export function toKubeError(err: unknown, what: string): unknown {
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

/** Runs an API call, translating its error; 404 answers undefined when `notFoundUndefined`. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKubeError(err, what);
  }
}

/** Like `call`, but a 404 answers undefined. */
export async function callOrUndefined<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiException && (err as ApiException<unknown>).code === 404) return undefined;
    throw toKubeError(err, what);
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
