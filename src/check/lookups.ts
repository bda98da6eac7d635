/** What `check` reads per pod: its Secret, or its namespace's PodCertificateRequests. */
import { projectedSigner } from '../core/mutate/volume.js';
import { MANAGED_LABEL, SECRET_ANNOTATION } from '../core/names.js';
import type { RawVolume } from '../core/pod.js';
import { apiStatus, type PodObject, type SecretApi, type SecretObject } from '../kube/types.js';
import type { RequestLookup } from './pod-certificate.js';
import type { SecretLookup } from './pod-secret.js';
import { apiFailure, type CheckResult } from './result.js';
import type { CheckDeps } from './run.js';

type Read<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly result: CheckResult };

async function read<T>(name: string, what: string, fn: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, result: apiFailure(name, what, err, apiStatus(err)) };
  }
}

/** The namespace's PodCertificateRequests of our signer, read once when a pod there has a podCertificate volume. */
export async function requestLookup(
  deps: CheckDeps,
  namespace: string,
  signerName: string,
  pods: readonly PodObject[],
): Promise<RequestLookup> {
  const projected = pods.some((p) =>
    (Array.isArray(p.spec?.['volumes']) ? (p.spec['volumes'] as RawVolume[]) : []).some(
      (v) => projectedSigner(v) === signerName,
    ),
  );
  const list = deps.podCertificates?.listRequests;
  if (!projected) return { kind: 'found', requests: [] };
  if (list === undefined) return { kind: 'unserved' };
  const got = await read('pod-certificate-request', `PodCertificateRequests in ${namespace}`, () =>
    list(namespace, signerName),
  );
  return got.ok ? { kind: 'found', requests: got.value } : { kind: 'error', result: got.result };
}

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
    const all = await read('secret', `Secrets in ${namespace}`, () =>
      deps.inspect.listSecrets(namespace, `${MANAGED_LABEL}=true`),
    );
    if (all.ok) listed = new Map(all.value.map((s) => [s.metadata.name ?? '', s]));
  }
  return mapLimit(pods, 8, (pod) => {
    const secretName = pod.metadata.annotations?.[SECRET_ANNOTATION];
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
  const secretName = pod.metadata.annotations?.[SECRET_ANNOTATION];
  if (pod.metadata.labels?.[MANAGED_LABEL] !== 'true' || secretName === undefined || secretName === '') {
    return { kind: 'unread' };
  }
  const got = await read<SecretObject | undefined>('secret', `Secret ${namespace}/${secretName}`, () =>
    secrets.get(namespace, secretName),
  );
  if (!got.ok) return { kind: 'error', result: got.result };
  return got.value === undefined ? { kind: 'missing' } : { kind: 'found', secret: got.value };
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
