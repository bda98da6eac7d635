import { MANAGED_LABEL } from '../core/names.js';
import { apiStatus, type PodObject, type SecretApi, type SecretObject } from '../kube/types.js';
import { mountedSecretName } from '../model/pods.js';
import type { SecretLookup } from './pod-secret.js';
import { apiFailure } from './result.js';
import type { CheckDeps } from './run.js';

/**
 * The Secret of every injected pod. For a namespace, one list of the managed Secrets answers most pods; a get
 * per pod is left only for names the list lacks (missing, or there but not ours), so `check -n` on a large
 * namespace costs one list, not one request per pod.
 */
export async function secretLookups(
  deps: CheckDeps,
  namespace: string,
  pods: readonly PodObject[],
  useList: boolean,
): Promise<SecretLookup[]> {
  let listed: Map<string, SecretObject> | undefined;
  if (useList && pods.some((p) => p.metadata.labels?.[MANAGED_LABEL] === 'true')) {
    try {
      const all = await deps.inspect.listSecrets(namespace, `${MANAGED_LABEL}=true`);
      listed = new Map(all.map((s) => [s.metadata.name ?? '', s]));
    } catch {
      // fall back to a get per pod, which reports its own failure
    }
  }
  return mapLimit(pods, 8, (pod) => {
    const secretName = mountedSecretName(pod);
    const secret = secretName === undefined ? undefined : listed?.get(secretName);
    if (secret !== undefined && pod.metadata.labels?.[MANAGED_LABEL] === 'true') {
      return Promise.resolve<SecretLookup>({ kind: 'found', secret });
    }
    return secretLookup(deps.secrets, namespace, pod);
  });
}

async function secretLookup(
  secrets: Pick<SecretApi, 'get'>,
  namespace: string,
  pod: PodObject,
): Promise<SecretLookup> {
  const secretName = mountedSecretName(pod);
  if (pod.metadata.labels?.[MANAGED_LABEL] !== 'true' || secretName === undefined) {
    return { kind: 'unread' };
  }
  let got: SecretObject | undefined;
  try {
    got = await secrets.get(namespace, secretName);
  } catch (err) {
    return {
      kind: 'error',
      result: apiFailure('secret', `Secret ${namespace}/${secretName}`, err, apiStatus(err)),
    };
  }
  return got === undefined ? { kind: 'missing' } : { kind: 'found', secret: got };
}

/** Maps with at most `limit` calls in flight, keeping order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
