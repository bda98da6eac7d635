/**
 * Whether the signer signs a PodCertificateRequest, judged on what it names against what the API says, never on
 * what a pod's author can write (docs/pod-certificates.md, "What the signer checks"). The identity is the one
 * Secret delivery gives: spiffe://<trust domain>/ns/<namespace>/sa/<the pod's service account>. Pure.
 */
import { workloadIdentity } from '../../core/identity.js';
import { OPT_IN_LABEL } from '../../core/names.js';
import { type DenialReason, isSignedKeyType, SIGNED_KEY_TYPES } from '../../core/pod-certificate.js';
import type { PodCertificateRequestObject } from '../../kube/types.js';
import type { PodRevocation } from '../../model/pod-revocations.js';
import { namespaceMode, webhookSelection } from '../../model/selection.js';
import { readSubjectPublicKey, spkiOfCsr, type SubjectPublicKey } from '../../pki/csr.js';

type Labels = Readonly<Record<string, string>>;

/** The pod a request names, as the API last said. */
export interface PodFacts {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly serviceAccount: string;
  readonly nodeName: string;
  readonly labels: Labels;
}

/** What a request is judged against. */
export interface JudgeContext {
  readonly trustDomain: string;
  readonly excludedNamespaces: readonly string[];
  /** The labels of the request's namespace (from the Namespace watch); undefined reads as no labels. */
  readonly namespaceLabels: Labels | undefined;
  /** The pod the request names, read from the API; undefined when there is none of that name. */
  readonly pod: PodFacts | undefined;
  /** The revocation of the pod UID the request names (`mtls-injector revoke`), if any. */
  readonly revoked?: PodRevocation | undefined;
}

/** Sign (for this identity and key), or deny with one of the signer's reasons and a message saying why. */
export type Verdict =
  | {
      readonly kind: 'sign';
      readonly spiffeId: string;
      readonly publicKey: SubjectPublicKey;
      readonly pod: PodFacts;
    }
  | {
      readonly kind: 'deny';
      readonly reason: DenialReason;
      readonly message: string;
      readonly pod: PodFacts | undefined;
    };

const q = JSON.stringify;

/** The subject public key of a request (stub PKCS#10 request, or v1beta1's pkixPublicKey), or why there is none. */
export function requestPublicKey(pcr: PodCertificateRequestObject): SubjectPublicKey | string {
  const { stubPKCS10Request, pkixPublicKey } = pcr.spec;
  try {
    if (stubPKCS10Request !== undefined && stubPKCS10Request !== '')
      return readSubjectPublicKey(spkiOfCsr(Buffer.from(stubPKCS10Request, 'base64')));
    if (pkixPublicKey !== undefined && pkixPublicKey !== '')
      return readSubjectPublicKey(Buffer.from(pkixPublicKey, 'base64'));
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return 'the request carries neither stubPKCS10Request nor pkixPublicKey';
}

/**
 * Judges a request in the order that needs the least: its own fields (user annotations, key type), the
 * namespace's opt-in, then the pod (exists, same UID, opted in when the namespace is not, same service
 * account and node) and the identity it gives.
 */
export function judgeRequest(pcr: PodCertificateRequestObject, ctx: JudgeContext): Verdict {
  const namespace = pcr.metadata.namespace ?? '';
  const { spec } = pcr;
  const podRef = `pod ${namespace}/${spec.podName}`;
  const deny = (reason: DenialReason, message: string, pod?: PodFacts): Verdict => ({
    kind: 'deny',
    reason,
    message,
    pod,
  });

  // A revoked pod gets nothing more, whatever else holds: a stale refresh or a kubelet-side key in other hands.
  if (ctx.revoked !== undefined) {
    const r = ctx.revoked;
    return deny(
      'PodRevoked',
      `${podRef} (UID ${spec.podUID}) was revoked by ${r.by} at ${r.revokedAt} (${r.reason}); it gets no new certificate and is evicted, its controller's replacement gets a new key`,
      ctx.pod?.uid === spec.podUID ? ctx.pod : undefined,
    );
  }
  const annotations = Object.keys(spec.unverifiedUserAnnotations ?? {});
  if (annotations.length > 0) {
    return deny(
      'InvalidUnverifiedUserAnnotations',
      `userAnnotations ${annotations.map((k) => q(k)).join(', ')} are not recognised by this signer (it recognises none); remove userAnnotations from the podCertificate projection`,
    );
  }
  const publicKey = requestPublicKey(pcr);
  if (typeof publicKey === 'string') return deny('InvalidRequest', `no usable public key: ${publicKey}`);
  if (publicKey.keyType === undefined || !isSignedKeyType(publicKey.keyType)) {
    return deny(
      'UnsupportedKeyType',
      `key type ${publicKey.keyType ?? publicKey.description} is not signed by ${spec.signerName}; use keyType ${SIGNED_KEY_TYPES.join(', ')} (ECDSAP256 is the default)`,
    );
  }

  const labels = ctx.namespaceLabels ?? {};
  const notOptedIn = (why: string): Verdict =>
    deny(
      'NamespaceNotOptedIn',
      `namespace ${q(namespace)} is not opted in (${why}); label it ${OPT_IN_LABEL}=enabled to get identities`,
    );
  // What needs no pod first: an excluded namespace, or one labelled with another value, is never signed for
  // whatever the pod carries.
  if (ctx.excludedNamespaces.includes(namespace)) return notOptedIn('it is never injected');
  const optInValue = labels[OPT_IN_LABEL];
  if (optInValue !== undefined && namespaceMode(labels) === undefined)
    return notOptedIn(`${OPT_IN_LABEL}=${optInValue}`);

  const { pod } = ctx;
  if (pod === undefined)
    return deny('PodNotFound', `${podRef} does not exist; this signer signs only for live pods`);
  if (pod.uid !== spec.podUID) {
    return deny(
      'PodUIDMismatch',
      `${podRef} has UID ${pod.uid}, the request names UID ${spec.podUID} (a pod of that name was deleted or recreated)`,
      pod,
    );
  }
  // The opt-in as the Secret controller judges it (src/rotator/sync-pod.ts): the entry the webhook would call
  // for this pod, from the Namespace watch's labels and the live pod's own labels.
  const selection = webhookSelection(namespace, labels, pod.labels, ctx.excludedNamespaces);
  if (!selection.selected) {
    return notOptedIn(
      selection.why === 'excluded_namespace'
        ? 'it is never injected'
        : optInValue === undefined
          ? `no ${OPT_IN_LABEL} label, and the pod does not carry ${OPT_IN_LABEL}=enabled`
          : `${OPT_IN_LABEL}=${optInValue}`,
    );
  }
  if (pod.serviceAccount !== spec.serviceAccountName) {
    return deny(
      'ServiceAccountMismatch',
      `${podRef} runs as service account ${q(pod.serviceAccount)}, the request names ${q(spec.serviceAccountName)}`,
      pod,
    );
  }
  if (pod.nodeName !== spec.nodeName) {
    return deny(
      'NodeMismatch',
      `${podRef} is bound to node ${q(pod.nodeName)}, the request comes from node ${q(spec.nodeName)}`,
      pod,
    );
  }
  try {
    const { spiffeId } = workloadIdentity(ctx.trustDomain, namespace, pod.serviceAccount);
    return { kind: 'sign', spiffeId, publicKey, pod };
  } catch (err) {
    return deny('InvalidIdentity', err instanceof Error ? err.message : String(err), pod);
  }
}

/** The facts the signer needs from a pod object, or undefined when it lacks a name, namespace or UID. */
export function podFacts(pod: {
  readonly metadata: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly labels?: Labels;
  };
  readonly spec?: { readonly serviceAccountName?: string; readonly [key: string]: unknown };
}): PodFacts | undefined {
  const { name, namespace, uid } = pod.metadata;
  if (name === undefined || namespace === undefined || uid === undefined) return undefined;
  const nodeName = pod.spec?.['nodeName'];
  return {
    namespace,
    name,
    uid,
    serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    nodeName: typeof nodeName === 'string' ? nodeName : '',
    labels: pod.metadata.labels ?? {},
  };
}
