import type { Decision } from '../core/policy/decide.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import { workloadIdentity } from '../core/identity.js';
import { OPT_IN_LABEL, VOLUME_NAME } from '../core/names.js';
import type { Reason } from '../core/reasons.js';
import { type DeliveryMode, resolveDelivery } from '../core/delivery.js';
import { projectedSigner } from '../core/mutate/volume.js';
import type { RawVolume } from '../core/pod.js';
import type { PodObject } from '../kube/types.js';
import type { PodCertificateView, RequestLookup } from './pod-certificate.js';
import { type CrlLookup, podCertificateReport } from './pod-certificate-revocation.js';
import type { PodRevocation } from '../model/pod-revocations.js';
import { settingsFromPod } from './pod-settings.js';
import type { RevocationEntry } from '../model/revocations.js';
import { ownerKey, podOwner, type PodOwner } from '../model/owners.js';
import { isInjected, mountedSecretName, webhookDecision } from '../model/pods.js';
import { type Selection, webhookSelection } from '../model/selection.js';
import { type CertificateFacts, checkPodSecret, type SecretLookup } from './pod-secret.js';
import { type CheckResult, fail, pass } from './result.js';
import { initImageCheck } from './init-image.js';

/** What the webhook does with this pod (decide() on the stored pod), in `check -o json` as `webhook`. */
export interface WebhookView {
  /** Whether the API server sends such a pod to the webhook at all, and through which entry. */
  readonly selected: boolean;
  readonly entry: 'enabled' | 'strict' | 'pod' | null;
  readonly decision: Decision['kind'] | null;
  /** The webhook's reason code (docs/reasons.md), null when the webhook is not called. */
  readonly reason: Reason | null;
  readonly message: string | null;
}

/** Everything `check` says about one pod (`pods[]` in `check -o json`). */
export interface PodReport {
  readonly name: string;
  readonly serviceAccount: string | null;
  readonly phase: string | null;
  readonly injected: boolean;
  readonly owner: { readonly kind: string; readonly name: string } | null;
  readonly webhook: WebhookView;
  readonly secretName: string | null;
  /** How the pod gets (or would get) its files, and why; null when the webhook is not called for it. */
  readonly delivery: { readonly mode: DeliveryMode; readonly why: string } | null;
  /** Its newest PodCertificateRequest, for podCertificate delivery. */
  readonly podCertificate: PodCertificateView | null;
  readonly expectedSpiffeId: string | null;
  readonly certificate: CertificateFacts | null;
  readonly checks: readonly CheckResult[];
}

export interface PodCheckInput {
  readonly pod: PodObject;
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  readonly settings: InjectionSettings;
  readonly excludedNamespaces: readonly string[];
  /** The pod's Secret as read (only consulted for injected pods with Secret delivery). */
  readonly secret: SecretLookup;
  /** The namespace's PodCertificateRequests (only consulted for injected pods with podCertificate delivery). */
  readonly requests?: RequestLookup;
  /** ca.crt of the CA Secret (the cluster's trust bundle), when it could be read. */
  readonly clusterBundlePem: string | undefined;
  /** The revocation record's entries; undefined when it could not be read. */
  readonly revocations: readonly RevocationEntry[] | undefined;
  /** The record's revoked pods (pod certificates); undefined when it could not be read. */
  readonly revokedPods?: readonly PodRevocation[] | undefined;
  /** The namespace's ConfigMap podCertificate.trustBundleConfigMap: the ca.crl pods with pod certificates mount. */
  readonly crl?: CrlLookup;
  /** Whether a pod with this uid exists in the namespace (default: none but this one). */
  readonly podExists?: ((uid: string) => boolean) | undefined;
  readonly now: Date;
}

/**
 * Why a pod was or was not injected, with the webhook's own reason codes (decide() on the stored pod with its
 * namespace's mode), and for an injected pod whether its Secret and certificate are healthy. Pure.
 */
export function checkPod(input: PodCheckInput): PodReport {
  const { pod, namespace } = input;
  const injected = isInjected(pod);
  const owner = podOwner(pod);
  const selection = webhookSelection(
    namespace,
    input.namespaceLabels,
    pod.metadata.labels,
    input.excludedNamespaces,
  );
  // An injected pod is judged against the structure it carries (its own mtls-init image and settings), so a
  // check run with other defaults than the webhook's does not call every pod incomplete.
  const settings = injected ? settingsFromPod(pod, input.settings) : input.settings;
  const decision = webhookDecision(pod, namespace, selection, settings, input.excludedNamespaces);
  const webhook: WebhookView = {
    selected: selection.selected,
    entry: selection.selected ? selection.entry : null,
    decision: selection.selected ? (decision?.kind ?? null) : null,
    reason: selection.selected
      ? (decision?.reason ?? null)
      : selection.why === 'excluded_namespace'
        ? 'excluded_namespace'
        : null,
    message: selection.selected ? (decision?.message ?? null) : null,
  };
  const serviceAccount =
    typeof pod.spec?.serviceAccountName === 'string' ? pod.spec.serviceAccountName : null;
  const expectedSpiffeId = expectedId(input.settings.trustDomain, namespace, serviceAccount);
  const checks: CheckResult[] = [injectionCheck(input, injected, selection, decision, owner)];
  const initImage = injected ? initImageCheck(pod) : undefined;
  if (initImage !== undefined) checks.push(initImage);
  let certificate: CertificateFacts | null = null;
  const secretName = mountedSecretName(pod) ?? null;
  const delivery = deliveryOf(pod, injected, selection, decision, input.settings);
  let podCertificate: PodCertificateView | null = null;
  // A pod with a podCertificate volume of our signer (injected, or written by its author) is judged by its
  // requests: their answer decides whether it starts.
  if (projectsSigner(pod, input.settings.delivery.signerName)) {
    const result = podCertificateReport(input, expectedSpiffeId);
    checks.push(...result.checks);
    certificate = result.certificate;
    podCertificate = result.view;
  } else if (injected) {
    const secretChecks = checkPodSecret({
      pod,
      secretName,
      podExists: input.podExists ?? ((uid) => uid === pod.metadata.uid),
      secret: input.secret,
      expectedSpiffeId,
      clusterBundlePem: input.clusterBundlePem,
      revocations: input.revocations,
      trustDomain: input.settings.trustDomain,
      now: input.now,
    });
    checks.push(...secretChecks.checks);
    certificate = secretChecks.certificate;
  }
  return {
    name: pod.metadata.name ?? '',
    serviceAccount,
    phase: typeof pod.status?.phase === 'string' ? pod.status.phase : null,
    injected,
    owner: owner === undefined ? null : { kind: owner.kind, name: owner.name },
    webhook,
    secretName,
    delivery,
    podCertificate,
    expectedSpiffeId,
    certificate,
    checks,
  };
}

function injectionCheck(
  input: PodCheckInput,
  injected: boolean,
  selection: Selection,
  decision: Decision | undefined,
  owner: PodOwner | undefined,
): CheckResult {
  const ns = input.namespace;
  const name = 'injection';
  if (!selection.selected && selection.why === 'excluded_namespace') {
    return pass(name, 'excluded_namespace', `namespace ${ns} is never injected`);
  }
  if (injected) {
    if (!selection.selected) {
      return fail(
        name,
        'warning',
        'lost_opt_in',
        `injected, but namespace ${ns} is no longer opted in and the pod has no ${OPT_IN_LABEL}=enabled label: its replacement will get no identity`,
        `label the namespace again (kubectl label namespace ${ns} ${OPT_IN_LABEL}=enabled), or restart the workload to drop the identity on purpose`,
      );
    }
    if (decision === undefined || decision.reason === 'already_injected') {
      return pass(name, 'already_injected', 'injected');
    }
    return fail(
      name,
      decision.kind === 'deny' ? 'error' : 'warning',
      decision.reason,
      decision.kind === 'inject'
        ? `marked injected, but the injected structure is incomplete (the webhook would add ${decision.patch
            .map((p) => p.path)
            .slice(0, 5)
            .join(', ')})`
        : `marked injected, but ${decision.message}`,
      restartHint(ns, owner),
    );
  }
  if (!selection.selected) {
    return pass(
      name,
      'not_selected',
      `not injected: namespace ${ns} is not opted in and the pod has no ${OPT_IN_LABEL}=enabled label, so the webhook is not called`,
    );
  }
  if (decision === undefined) return pass(name, 'not_selected', 'not injected: the webhook is not called');
  switch (decision.kind) {
    case 'inject':
      return fail(
        name,
        selection.mode === 'strict' ? 'error' : 'warning',
        'not_onboarded',
        `not injected: the pod predates the namespace's opt-in (or was created while the webhook was unavailable); the webhook would inject it now (${decision.reason})`,
        restartHint(ns, owner),
      );
    case 'skip':
      if (decision.reason === 'mirror_pod')
        return pass(name, decision.reason, `not injected: ${decision.message}`);
      return fail(
        name,
        'warning',
        decision.reason,
        `not injected: ${decision.message}`,
        skipHint(decision.reason),
      );
    case 'deny':
      return fail(
        name,
        'error',
        decision.reason,
        `not injected, and a pod like it would now be refused: ${decision.message}`,
        'fix the pod template before its next restart, or new pods cannot be created',
      );
  }
}

/** Whether any volume of the pod is a podCertificate projection naming `signerName`. */
function projectsSigner(pod: PodObject, signerName: string): boolean {
  const volumes = pod.spec?.['volumes'];
  return Array.isArray(volumes) && (volumes as RawVolume[]).some((v) => projectedSigner(v) === signerName);
}

/**
 * The delivery of a pod: for an injected pod the one its volume shows, with why a pod created now in its
 * namespace would get it (or that it would get the other); for a pod the webhook would inject now, the
 * decision's own.
 */
function deliveryOf(
  pod: PodObject,
  injected: boolean,
  selection: Selection,
  decision: Decision | undefined,
  settings: InjectionSettings,
): PodReport['delivery'] {
  if (!injected) {
    return decision?.kind === 'inject' ? { mode: decision.delivery, why: decision.deliveryWhy } : null;
  }
  const volumes = pod.spec?.['volumes'];
  const ours = Array.isArray(volumes)
    ? (volumes as RawVolume[]).find((v) => v.name === VOLUME_NAME)
    : undefined;
  const mode: DeliveryMode =
    ours !== undefined && projectedSigner(ours) !== undefined ? 'podCertificate' : 'secret';
  if (!selection.selected) return { mode, why: 'the namespace is no longer opted in' };
  const now = resolveDelivery(selection.delivery, settings.delivery);
  if (now.mode === mode) return { mode, why: now.why };
  const instead =
    now.mode === 'invalid' || now.mode === 'unavailable'
      ? `would be refused: ${now.message}`
      : `would get ${now.mode} (${now.why})`;
  return { mode, why: `given when the pod was created; a pod created now ${instead}` };
}

function restartHint(ns: string, owner: PodOwner | undefined): string {
  if (owner?.restartable === true) {
    return `mtls-injector onboard -n ${ns} (restarts ${ownerKey(owner)} like kubectl rollout restart)`;
  }
  return 'delete and re-create the pod so the webhook sees it';
}

const SKIP_HINTS: Partial<Record<Reason, string>> = {
  opted_out:
    'remove the annotation mtls-injector.io/inject: "false" from the pod template and restart the workload if it needs an identity',
  service_account_missing: 'set spec.serviceAccountName and restart the workload',
  windows_unsupported: 'configure init.windowsImage to inject Windows pods',
};

function skipHint(reason: Reason): string | null {
  return SKIP_HINTS[reason] ?? null;
}

function expectedId(trustDomain: string, namespace: string, serviceAccount: string | null): string | null {
  if (serviceAccount === null || serviceAccount === '') return null;
  try {
    return workloadIdentity(trustDomain, namespace, serviceAccount).spiffeId;
  } catch {
    return null;
  }
}
