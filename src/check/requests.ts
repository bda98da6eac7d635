/** What `check` reads for pods with podCertificate volumes: their namespace's PodCertificateRequests (Secrets: secrets.ts). */
import { projectedSigner } from '../core/mutate/volume.js';
import type { RawVolume } from '../core/pod.js';
import { apiStatus, type PodObject } from '../kube/types.js';
import { CRL_FILE } from '../core/names.js';
import type { RequestLookup } from './pod-certificate.js';
import type { CrlLookup } from './pod-certificate-revocation.js';
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

function projects(pods: readonly PodObject[], signerName: string): boolean {
  return pods.some((p) =>
    (Array.isArray(p.spec?.['volumes']) ? (p.spec['volumes'] as RawVolume[]) : []).some(
      (v) => projectedSigner(v) === signerName,
    ),
  );
}

/**
 * The ca.crl pods with pod certificates mount: the namespace's ConfigMap `name`, read once when a pod there has
 * a podCertificate volume.
 */
export async function crlLookup(
  deps: CheckDeps,
  namespace: string,
  name: string,
  signerName: string,
  pods: readonly PodObject[],
): Promise<CrlLookup> {
  if (!projects(pods, signerName)) return { kind: 'found', pem: undefined };
  const got = await read('crl', `ConfigMap ${namespace}/${name}`, () =>
    deps.inspect.getConfigMap(namespace, name),
  );
  return got.ok ? { kind: 'found', pem: got.value?.data?.[CRL_FILE] } : { kind: 'error', result: got.result };
}

/** The namespace's PodCertificateRequests of our signer, read once when a pod there has a podCertificate volume. */
export async function requestLookup(
  deps: CheckDeps,
  namespace: string,
  signerName: string,
  pods: readonly PodObject[],
): Promise<RequestLookup> {
  const projected = projects(pods, signerName);
  const list = deps.podCertificates?.listRequests;
  if (!projected) return { kind: 'found', requests: [] };
  if (list === undefined) return { kind: 'unserved' };
  const got = await read('pod-certificate-request', `PodCertificateRequests in ${namespace}`, () =>
    list(namespace, signerName),
  );
  return got.ok ? { kind: 'found', requests: got.value } : { kind: 'error', result: got.result };
}
