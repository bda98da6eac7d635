/** `revoke --serial`: where a serial lives, or why it cannot be revoked (src/revoke/targets.ts). */
import { ErrorCode, InjectorError } from '../core/errors.js';
import { MANAGED_LABEL } from '../core/names.js';
import { canonicalSerial, serialProblem } from '../core/revocation.js';
import { apiStatus, type SecretObject } from '../kube/types.js';
import type { LeafSummary } from '../pki/x509.js';
import { type Candidate, candidate, checkNamespace, leafOf, podOf } from './candidate.js';
import { holdsPodCertificates, issuedLeaves } from './pod-certificate-targets.js';
import type { Resolved, TargetApi, TargetSettings } from './targets.js';

/**
 * The certificate with `serial`: in a managed Secret (of `namespace`, or every one), else in an Issued
 * PodCertificateRequest (its pod, if still running, is revoked too), else with --force on every CA's CRL.
 */
export async function serialCandidates(
  api: TargetApi,
  serial: string,
  namespace: string | undefined,
  settings: TargetSettings,
): Promise<Resolved> {
  const problem = serialProblem(serial);
  if (problem !== undefined) {
    throw new InjectorError(ErrorCode.UsageInvalid, `--serial: ${problem}; nothing was revoked`);
  }
  const wanted = canonicalSerial(serial);
  if (namespace !== undefined) checkNamespace(namespace);
  const where = namespace === undefined ? 'every namespace' : `namespace ${namespace}`;
  let secrets: SecretObject[];
  try {
    secrets =
      namespace === undefined
        ? await api.secrets.list(`${MANAGED_LABEL}=true`)
        : await api.inspect.listSecrets(namespace, `${MANAGED_LABEL}=true`);
  } catch (err) {
    if (apiStatus(err) !== 403) throw err;
    throw new InjectorError(
      ErrorCode.KubeApi,
      `cannot list the managed Secrets of ${where} to find serial ${wanted}: forbidden for this kubeconfig; ` +
        'pass -n NAMESPACE to search one namespace, or --force to revoke the serial without looking it up',
      { cause: err },
    );
  }
  const found: Candidate[] = [];
  let expired: LeafSummary | undefined;
  for (const secret of secrets) {
    const leaf = leafOf(secret);
    if (leaf?.serialHex !== wanted) continue;
    if (leaf.notAfter <= settings.now) expired = leaf;
    else
      found.push(
        candidate(leaf, podOf(secret), `${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}`),
      );
  }
  if (found.length > 0) return { candidates: found, pods: [], warnings: [] };
  // A pod certificate, while its request is still there (15 minutes): its pod, if still running, is taken out.
  const requested = await issuedLeaves(api.requests, settings.signerName, namespace, settings.now);
  const match = requested.leaves.find((l) => l.leaf.serialHex === wanted);
  if (match !== undefined) {
    const pod = await api.inspect.getPod(match.namespace, match.podName);
    const alive =
      pod !== undefined &&
      pod.metadata.uid === match.podUID &&
      holdsPodCertificates(pod, settings.signerName);
    const owner = { namespace: match.namespace, name: match.podName, uid: match.podUID };
    return {
      candidates: [candidate(match.leaf, owner, null)],
      pods: alive ? [{ ...owner, identity: match.leaf.spiffeId ?? '' }] : [],
      warnings: [],
    };
  }
  if (expired !== undefined) {
    throw new InjectorError(
      ErrorCode.RevokeNoLiveCertificate,
      `the certificate with serial ${wanted} expired at ${expired.notAfter.toISOString()}; peers refuse it already, ` +
        'nothing was revoked',
    );
  }
  if (!settings.force) {
    throw new InjectorError(
      ErrorCode.RevokeUnknownSerial,
      `no managed Secret in ${where} holds a certificate with serial ${wanted} (${secrets.length} searched), ` +
        'nor any PodCertificateRequest there (they are deleted 15 minutes after creation): either ' +
        'the CA never issued it, or it was already replaced (a renewal, a deleted pod) and may still be valid. ' +
        'Nothing was revoked. To list it anyway on the CRL of every issuing CA until it must have expired, ' +
        'add --force',
    );
  }
  const forced: Candidate = {
    serial: wanted,
    issuer: null,
    notAfter: new Date(settings.now.getTime() + settings.leafLifetimeSeconds * 1000),
    identity: null,
    pod: null,
    secret: null,
  };
  return { candidates: [forced], pods: [], warnings: [] };
}
