/**
 * What `revoke` means for pods with pod certificates (podCertificate delivery, docs/revocation.md "Pods with pod
 * certificates"): the pod itself (the leader evicts it and the signer denies its UID from then on), plus the
 * serials of its certificates still findable in Issued PodCertificateRequests (deleted 15 minutes after
 * creation; the leader adds the older ones it knows). Only what users cannot forge decides: the pod's
 * podCertificate volume naming our signer and its UID, and the request's spec (written by the kubelet, checked by
 * the API server) and status (written by the signer).
 */
import { PCR_ISSUED } from '../core/pod-certificate.js';
import {
  apiStatus,
  type PodCertificateRequestApi,
  type PodCertificateRequestObject,
  type PodObject,
} from '../kube/types.js';
import { isLive, mountedPodCertificateSigner } from '../model/pods.js';
import { leafSummary, type LeafSummary } from '../pki/x509.js';

/** A pod whose pod certificates are revoked: evicted, and its UID denied new ones. */
export interface PodTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly identity: string;
}

/** An issued pod certificate found in a request. */
export interface RequestLeaf {
  readonly leaf: LeafSummary;
  readonly namespace: string;
  readonly podName: string;
  readonly podUID: string;
}

/** The request reads; undefined where the API server serves no PodCertificateRequests. */
export type RequestLister = Pick<PodCertificateRequestApi, 'list'> | undefined;

/** Whether the pod mounts a podCertificate volume of `signerName` (then it has no Secret to revoke). */
export function holdsPodCertificates(pod: PodObject, signerName: string): boolean {
  return mountedPodCertificateSigner(pod) === signerName;
}

/** Live pods of `serviceAccount` in the list with a podCertificate volume of `signerName`. */
export function podCertificatePods(
  pods: readonly PodObject[],
  serviceAccount: string,
  signerName: string,
): PodObject[] {
  return pods.filter(
    (p) =>
      isLive(p) &&
      (p.spec?.serviceAccountName ?? 'default') === serviceAccount &&
      holdsPodCertificates(p, signerName),
  );
}

/**
 * The live leaves in Issued requests of `signerName` (one namespace, or all), with a warning instead when the
 * requests cannot be read (not served, or forbidden: the pod entry still does its work, the leader adds the
 * serials it knows).
 */
export async function issuedLeaves(
  requests: RequestLister,
  signerName: string,
  namespace: string | undefined,
  now: Date,
): Promise<{ leaves: RequestLeaf[]; warning: string | undefined }> {
  if (requests === undefined)
    return { leaves: [], warning: 'the API server serves no PodCertificateRequests to look serials up in' };
  let list: PodCertificateRequestObject[];
  try {
    list = await requests.list(signerName, namespace);
  } catch (err) {
    if (apiStatus(err) !== 403) throw err;
    return {
      leaves: [],
      warning: `cannot list PodCertificateRequests${namespace === undefined ? '' : ` in ${namespace}`} (forbidden): serials are left to the rotator, which adds those it issued`,
    };
  }
  const leaves: RequestLeaf[] = [];
  for (const pcr of list) {
    const issued = (pcr.status?.conditions ?? []).some((c) => c.type === PCR_ISSUED && c.status === 'True');
    const chain = pcr.status?.certificateChain;
    if (!issued || chain === undefined) continue;
    const leaf = leafSummary(chain);
    if (leaf === undefined || leaf.notAfter <= now) continue;
    leaves.push({
      leaf,
      namespace: pcr.metadata.namespace ?? '',
      podName: pcr.spec.podName,
      podUID: pcr.spec.podUID,
    });
  }
  return { leaves, warning: undefined };
}
