/**
 * Which certificates a `revoke` means: the live leaf in a pod's Secret, every live leaf of a service account's
 * identity, or one serial. Only what users cannot forge decides: the Secret's managed label and controlling
 * ownerReference (the pod's uid), and the identity inside the certificate; never pod annotations. Anything
 * that does not resolve is an InjectorError that says what was wrong, before anything is written.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';
import { serviceAccountProblem, workloadIdentity } from '../core/identity.js';
import { MANAGED_LABEL } from '../core/names.js';
import { canonicalSerial } from '../core/revocation.js';
import type { InspectApi, SecretApi } from '../kube/types.js';
import { mountedSecretName } from '../model/pods.js';
import { controllingPod } from '../model/workload-secret.js';
import { type Candidate, candidate, checkNamespace, leafOf, podOf } from './candidate.js';
import {
  holdsPodCertificates,
  issuedLeaves,
  podCertificatePods,
  type PodTarget,
  type RequestLister,
} from './pod-certificate-targets.js';
import { serialCandidates } from './serial-target.js';

export type { Candidate } from './candidate.js';

/** What the user asked to revoke. */
export type RevokeTarget =
  | { readonly kind: 'pod'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'service-account'; readonly namespace: string; readonly name: string }
  /** `namespace` narrows the search for the serial to one namespace (else every managed Secret). */
  | { readonly kind: 'serial'; readonly serial: string; readonly namespace: string | undefined };

/** What a target resolves to: certificates to list on the CRL, pods with pod certificates to take out. */
export interface Resolved {
  readonly candidates: readonly Candidate[];
  readonly pods: readonly PodTarget[];
  /** What could not be looked at, without stopping the revocation. */
  readonly warnings: readonly string[];
}

/** The reads resolving a target needs. */
export interface TargetApi {
  readonly inspect: Pick<InspectApi, 'getPod' | 'listSecrets' | 'listPods'>;
  readonly secrets: Pick<SecretApi, 'list'>;
  /** PodCertificateRequests, where served (pods with pod certificates). */
  readonly requests?: RequestLister;
}

/** Settings resolving a target needs. */
export interface TargetSettings {
  readonly trustDomain: string;
  /** Config leafLifetime: how long a forced serial stays on the CRL (no leaf of ours lives longer). */
  readonly leafLifetimeSeconds: number;
  readonly force: boolean;
  readonly now: Date;
  /** podCertificate.signerName: which podCertificate volumes and requests are ours. */
  readonly signerName: string;
}

/** What was asked, as the record and messages spell it: `pod NS/NAME`, `service-account NS/SA`, `serial HEX`. */
export function describeTarget(target: RevokeTarget): string {
  switch (target.kind) {
    case 'pod':
      return `pod ${target.namespace}/${target.name}`;
    case 'service-account':
      return `service-account ${target.namespace}/${target.name}`;
    case 'serial':
      return `serial ${canonicalSerial(target.serial)}`;
  }
}

/** The certificates `target` means, or an InjectorError saying why there are none. */
export async function resolveTarget(
  api: TargetApi,
  target: RevokeTarget,
  settings: TargetSettings,
): Promise<Resolved> {
  switch (target.kind) {
    case 'pod':
      return podCandidates(api, target.namespace, target.name, settings);
    case 'service-account':
      return serviceAccountCandidates(api, target.namespace, target.name, settings);
    case 'serial':
      return serialCandidates(api, target.serial, target.namespace, settings);
  }
}

async function podCandidates(
  api: TargetApi,
  namespace: string,
  name: string,
  settings: TargetSettings,
): Promise<Resolved> {
  checkNamespace(namespace);
  const pod = await api.inspect.getPod(namespace, name);
  if (pod === undefined) {
    throw new InjectorError(
      ErrorCode.RevokeTargetNotFound,
      `pod ${namespace}/${name} not found; nothing was revoked. List the pods with \`kubectl -n ${namespace} get pods\`, ` +
        'or revoke by --service-account or --serial when the pod is gone',
    );
  }
  if (pod.metadata.labels?.[MANAGED_LABEL] !== 'true') {
    throw new InjectorError(
      ErrorCode.RevokeNoLiveCertificate,
      `pod ${namespace}/${name} is not injected (no ${MANAGED_LABEL}=true label), so it holds no certificate of ` +
        'mtls-injector; nothing was revoked',
    );
  }
  const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
  const expected = workloadIdentity(settings.trustDomain, namespace, serviceAccount).spiffeId;
  const uid = pod.metadata.uid;
  if (holdsPodCertificates(pod, settings.signerName) && uid !== undefined) {
    // The kubelet holds the key: the pod is taken out (evicted, its UID denied); its serials as far as found.
    const found = await issuedLeaves(api.requests, settings.signerName, namespace, settings.now);
    const candidates = found.leaves
      .filter((l) => l.podUID === uid && l.leaf.spiffeId === expected)
      .map((l) => candidate(l.leaf, { namespace, name, uid }, null));
    return {
      candidates,
      pods: [{ namespace, name, uid, identity: expected }],
      warnings: found.warning === undefined ? [] : [found.warning],
    };
  }
  const mounted = mountedSecretName(pod);
  const owned = (await api.inspect.listSecrets(namespace, `${MANAGED_LABEL}=true`)).filter(
    (s) => controllingPod(s)?.uid === uid && (mounted === undefined || s.metadata.name === mounted),
  );
  if (owned.length === 0) {
    throw new InjectorError(
      ErrorCode.RevokeNoLiveCertificate,
      `pod ${namespace}/${name} has no managed Secret owned by it${mounted === undefined ? '' : ` (it mounts ${mounted})`}, ` +
        `so it holds no certificate to revoke; nothing was revoked. See \`mtls-injector check -n ${namespace} --pod ${name}\``,
    );
  }
  const out: Candidate[] = [];
  const problems: string[] = [];
  for (const secret of owned) {
    const where = `${namespace}/${secret.metadata.name ?? ''}`;
    const leaf = leafOf(secret);
    if (leaf === undefined) problems.push(`Secret ${where} holds no readable certificate`);
    else if (leaf.spiffeId !== expected) {
      problems.push(
        `Secret ${where} holds a certificate for ${leaf.spiffeId ?? 'no single SPIFFE ID'}, not the pod's ${expected} ` +
          `(the rotator replaces such a certificate on its own; revoke it with --serial ${leaf.serialHex} if you mean it)`,
      );
    } else if (leaf.notAfter <= settings.now) {
      problems.push(`the certificate in Secret ${where} expired at ${leaf.notAfter.toISOString()}`);
    } else out.push(candidate(leaf, { namespace, name, uid }, where));
  }
  if (out.length === 0) {
    throw new InjectorError(
      ErrorCode.RevokeNoLiveCertificate,
      `pod ${namespace}/${name} has no live certificate of ${expected}: ${problems.join('; ')}; nothing was revoked`,
    );
  }
  return { candidates: out, pods: [], warnings: [] };
}

async function serviceAccountCandidates(
  api: TargetApi,
  namespace: string,
  serviceAccount: string,
  settings: TargetSettings,
): Promise<Resolved> {
  checkNamespace(namespace);
  const saProblem = serviceAccountProblem(serviceAccount);
  if (saProblem !== undefined) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `--service-account ${namespace}/${serviceAccount}: ${saProblem}`,
    );
  }
  const expected = workloadIdentity(settings.trustDomain, namespace, serviceAccount).spiffeId;
  const secrets = await api.inspect.listSecrets(namespace, `${MANAGED_LABEL}=true`);
  const out: Candidate[] = [];
  for (const secret of secrets) {
    const leaf = leafOf(secret);
    if (leaf?.spiffeId !== expected || leaf.notAfter <= settings.now) continue;
    out.push(candidate(leaf, podOf(secret), `${namespace}/${secret.metadata.name ?? ''}`));
  }
  // Pods with pod certificates of that service account, and every live pod certificate of the identity found.
  const pods: PodTarget[] = podCertificatePods(
    await api.inspect.listPods(namespace),
    serviceAccount,
    settings.signerName,
  ).map((p) => ({
    namespace,
    name: p.metadata.name ?? '',
    uid: p.metadata.uid ?? '',
    identity: expected,
  }));
  const found = await issuedLeaves(api.requests, settings.signerName, namespace, settings.now);
  for (const l of found.leaves) {
    if (l.leaf.spiffeId !== expected) continue;
    out.push(candidate(l.leaf, { namespace, name: l.podName, uid: l.podUID }, null));
  }
  if (out.length === 0 && pods.length === 0) {
    throw new InjectorError(
      ErrorCode.RevokeNoLiveCertificate,
      `no live certificate of ${expected} among the ${secrets.length} managed Secret(s) of namespace ${namespace}; ` +
        `nothing was revoked. Check the names (service accounts of injected pods: \`kubectl -n ${namespace} get pods ` +
        `-l ${MANAGED_LABEL}=true -o custom-columns=POD:.metadata.name,SA:.spec.serviceAccountName\`) and --trust-domain`,
    );
  }
  const warnings = pods.length > 0 && found.warning !== undefined ? [found.warning] : [];
  return { candidates: out, pods, warnings };
}
