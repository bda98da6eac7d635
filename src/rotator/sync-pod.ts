import type { Config } from '../config/schema.js';
import { workloadIdentity } from '../core/identity.js';
import { CA_FILE, CERT_FILE, CRL_FILE, KEY_FILE, SEAL_ANNOTATION } from '../core/names.js';
import type { OwnerReference, PodObject, SecretObject } from '../kube/types.js';
import { objectKey } from '../kube/types.js';
import { encodeFiles, secretFile } from '../model/secret-data.js';
import { webhookSelection } from '../model/selection.js';
import { buildWorkloadSecret, controllingPod, secretOwnership } from '../model/workload-secret.js';
import type { PodInfo, RotatorCache } from './cache.js';
import { type CrlSummary, summarizeCrls } from './crl-content.js';
import { dnsNamesFor as servicesDnsNames } from './dns-names.js';
import type { CertOps } from './ports.js';
import { podTarget, type Reporter } from './reporter.js';
import type { SecretWriter } from './secret-writer.js';
import { type DesiredIdentity, judgeSecret, type SecretContent } from './secret-verdict.js';
import { firstIssueTimings, type FirstIssueTrace } from './first-issue.js';
import type { Clock } from './time.js';

/** What syncing a pod reads and uses. */
export interface PodSyncDeps {
  readonly config: Pick<Config, 'trustDomain' | 'clusterDomain' | 'dnsShortNames'>;
  readonly certs: CertOps;
  readonly cache: RotatorCache;
  /** The labels of a namespace as the Namespace watch last showed them; undefined when not known. */
  readonly namespaceLabels: (name: string) => Readonly<Record<string, string>> | undefined;
  /** Namespaces never given an identity: kube-system, kube-node-lease, the install namespace. */
  readonly excludedNamespaces: readonly string[];
  /** Reads one pod (answers undefined for 404): whether the pod that owns a Secret still exists. */
  readonly getPod: (namespace: string, name: string) => Promise<PodObject | undefined>;
  /** Whether the renewal time of the Secret `secretKey` has come. */
  readonly isDue: (secretKey: string) => boolean;
  readonly writer: SecretWriter;
  readonly reporter: Reporter;
  readonly clock: Clock;
  /** Revocation: the record's entries and the published ca.crl; absent, nothing is revoked or copied. */
  readonly revocation?: RevocationHooks | undefined;
}

/** What pod syncs need of revocation (docs/revocation.md). */
export interface RevocationHooks {
  /** The record's live entry revoking `serial` of the CA `issuerKeyId`, if any. */
  find(
    serial: string,
    issuerKeyId: string,
  ): { readonly reason: string; readonly revokedAt: string } | undefined;
  /** The ca.crl every Secret is to carry; undefined while none is published. */
  crl(): { readonly pem: string; readonly summary: CrlSummary } | undefined;
  /** thisUpdate to nextUpdate of the CRLs: a Secret's copy with less than a quarter left is refreshed. */
  readonly crlValidityMs: number;
  /** A revoked certificate was replaced, `seconds` after it was revoked. */
  reissued(seconds: number): void;
}

/**
 * One sync of one pod's Secret: judge, then act. Judging is pure (`judgeSecret` on what the cache holds); the
 * act is one create or one replace through the writer, and every outcome is told by the reporter. A Secret
 * that is not ours is never written (faults D1), and a Secret another existing pod owns is never handed to
 * this one (a collision, reported on both pods).
 *
 * Nothing the pod's author can write decides whether an identity is issued: the namespace must be opted in
 * now (its labels from the Namespace watch, or the pod's own opt-in label in an unlabelled namespace) and not
 * excluded. A pod whose namespace has lost the opt-in keeps only what it already has: its own Secret, holding
 * a certificate this CA issued for its identity, is renewed; nothing new is issued.
 */
export function createPodSync(deps: PodSyncDeps): (pod: PodInfo, trace?: FirstIssueTrace) => Promise<void> {
  const { cache, certs, writer, reporter, revocation } = deps;

  const desiredFor = (pod: PodInfo): DesiredIdentity | undefined => {
    let spiffeId: string;
    try {
      spiffeId = workloadIdentity(deps.config.trustDomain, pod.namespace, pod.serviceAccount).spiffeId;
    } catch (err) {
      reporter.invalidIdentity(pod, err instanceof Error ? err.message : String(err));
      return undefined;
    }
    return {
      owner: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
      spiffeId,
      dnsNames: dnsNamesFor(pod),
      trustBundlePem: certs.trustBundle(),
      issuerKeyId: certs.activeIssuerKeyId(),
      revoked: revocation === undefined ? undefined : (serial, issuer) => revocation.find(serial, issuer),
      crl: desiredCrl(),
    };
  };

  const desiredCrl = (): DesiredIdentity['crl'] => {
    const published = revocation?.crl();
    if (revocation === undefined || published === undefined) return undefined;
    return { ...published, staleBefore: deps.clock() + revocation.crlValidityMs / 4 };
  };

  /** DNS SANs for the Services in the pod's namespace that select it (dns-names.ts). */
  const dnsNamesFor = (pod: PodInfo): string[] =>
    servicesDnsNames(cache, pod.namespace, pod.labels, deps.config.clusterDomain, deps.config.dnsShortNames);

  /** The judged contents of `secret`, computed once per resourceVersion. */
  const contentOf = (secretKey: string, secret: SecretObject, desired: DesiredIdentity): SecretContent => {
    const info = cache.secret(secretKey);
    const current =
      info !== undefined && info.object.metadata.resourceVersion === secret.metadata.resourceVersion;
    if (current && info.content !== undefined) return info.content;
    const certPem = secretFile(secret, CERT_FILE);
    const keyPem = secretFile(secret, KEY_FILE);
    const crl = summarizeCrls(secretFile(secret, CRL_FILE));
    let content: SecretContent;
    if (certPem === undefined || keyPem === undefined) {
      content = {
        facts: undefined,
        problems: [{ code: 'missing_file', message: 'tls.crt or tls.key missing' }],
        crl,
      };
    } else {
      // read when the Secret arrived (same resourceVersion): not parsed twice
      const facts = current && info.facts !== undefined ? info.facts : certs.inspect(certPem);
      // a seal lets a pair the rotator wrote skip the signature check and key derivation (src/pki/seal.ts)
      const seal = secret.metadata.annotations?.[SEAL_ANNOTATION];
      const problems = certs.check({
        certPem,
        keyPem,
        bundlePem: desired.trustBundlePem,
        now: new Date(deps.clock()),
        ...(seal !== undefined && 'notAfter' in facts
          ? { sealed: { seal, notBefore: facts.notBefore, notAfter: facts.notAfter } }
          : {}),
      });
      content =
        'notAfter' in facts
          ? { facts, problems, crl }
          : { facts: undefined, problems: [facts, ...problems], crl };
    }
    if (current) info.content = content;
    return content;
  };

  const issue = async (pod: PodInfo, desired: DesiredIdentity, resourceVersion?: string) => {
    const issued = await certs.issue({ spiffeId: desired.spiffeId, dnsNames: desired.dnsNames });
    if (issued.capped) reporter.capped(pod);
    const secret = buildWorkloadSecret(
      pod.secretName,
      desired.owner,
      desired.spiffeId,
      issued,
      desired.trustBundlePem,
      resourceVersion,
    );
    const crl = desired.crl?.pem;
    return {
      issued,
      secret:
        crl === undefined
          ? secret
          : { ...secret, data: { ...(secret.data ?? {}), ...encodeFiles({ [CRL_FILE]: crl }) } },
    };
  };

  /** Whether the pod `owner` names still exists (known to the watch, else read from the API). */
  const ownerExists = async (namespace: string, owner: OwnerReference): Promise<boolean> => {
    if (cache.knownPod(owner.uid) !== undefined) return true;
    const found = await deps.getPod(namespace, owner.name);
    return found !== undefined && found.metadata.uid === owner.uid;
  };

  const syncExisting = async (
    pod: PodInfo,
    desired: DesiredIdentity,
    secret: SecretObject,
  ): Promise<void> => {
    const secretKey = objectKey(pod.namespace, pod.secretName);
    const owner = controllingPod(secret);
    const otherOwnerExists =
      secretOwnership(secret, desired.owner) === 'other_pod' && owner !== undefined
        ? await ownerExists(pod.namespace, owner)
        : true;
    const verdict = judgeSecret(
      secret,
      desired,
      contentOf(secretKey, secret, desired),
      deps.isDue(secretKey),
      otherOwnerExists,
    );
    switch (verdict.kind) {
      case 'ok':
        return;
      case 'foreign':
        reporter.foreign(pod, verdict.detail);
        return;
      case 'collision':
        reporter.collision(pod, verdict.owner);
        return;
      case 'immutable':
        reporter.immutable(pod);
        return;
      case 'refresh_bundle': {
        const files: Record<string, string> = { [CA_FILE]: desired.trustBundlePem };
        if (desired.crl !== undefined) files[CRL_FILE] = desired.crl.pem;
        const data = { ...(secret.data ?? {}), ...encodeFiles(files) };
        await writer.replace({ ...secret, data }, podTarget(pod));
        reporter.bundleRefreshed();
        return;
      }
      case 'reissue': {
        const { issued, secret: next } = await issue(pod, desired, secret.metadata.resourceVersion);
        await writer.replace(next, podTarget(pod));
        reporter.reissued(pod, desired.spiffeId, verdict.reason, issued.notAfter);
        if (verdict.revokedAt !== undefined && !Number.isNaN(verdict.revokedAt))
          revocation?.reissued(Math.max(0, (deps.clock() - verdict.revokedAt) / 1000));
        return;
      }
    }
  };

  /**
   * Whether the pod may have an identity now: its namespace is opted in and not excluded; or, in a namespace
   * that has lost the opt-in, it already holds its own Secret with a sound certificate for its identity.
   */
  const allowed = (pod: PodInfo, desired: DesiredIdentity): boolean => {
    const selection = webhookSelection(
      pod.namespace,
      deps.namespaceLabels(pod.namespace),
      pod.labels,
      deps.excludedNamespaces,
    );
    if (selection.selected) return true;
    if (selection.why === 'not_opted_in') {
      const key = objectKey(pod.namespace, pod.secretName);
      const own = cache.secret(key);
      if (
        own !== undefined &&
        secretOwnership(own.object, desired.owner) === 'owned' &&
        contentOf(key, own.object, desired).problems.length === 0
      )
        return true;
    }
    reporter.refused(pod, selection.why);
    return false;
  };

  return async (pod, trace) => {
    const desired = desiredFor(pod);
    if (desired === undefined || !allowed(pod, desired)) return;
    const cached = cache.secret(objectKey(pod.namespace, pod.secretName));
    if (cached !== undefined) {
      await syncExisting(pod, desired, cached.object);
      return;
    }
    const { issued, secret } = await issue(pod, desired);
    if (trace !== undefined) trace.issued = deps.clock();
    const result = await writer.create(secret, podTarget(pod), trace);
    if ('exists' in result) await syncExisting(pod, desired, result.exists);
    else
      reporter.issued(
        pod,
        desired.spiffeId,
        issued.notAfter,
        trace === undefined ? undefined : firstIssueTimings(trace, deps.clock()),
      );
  };
}
