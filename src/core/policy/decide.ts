import type { DeliveryMode, NamespaceDelivery } from '../delivery.js';
import { isInjectorError } from '../errors.js';
import {
  namespaceProblem,
  serviceAccountProblem,
  type WorkloadIdentity,
  workloadIdentity,
} from '../identity.js';
import { injectPod } from '../mutate/inject.js';
import { isOurMount } from '../mutate/mounts.js';
import { buildPatch, type PatchOperation } from '../mutate/patch.js';
import { parseStatus } from '../mutate/status.js';
import { stripOwnKeys } from '../mutate/strip.js';
import {
  INJECT_ANNOTATION,
  MIRROR_POD_ANNOTATION,
  OPT_IN_LABEL,
  SPIFFE_ID_ANNOTATION,
  STATUS_ANNOTATION,
  VOLUME_NAME,
} from '../names.js';
import { checkPodShape, hasInjectedStructure, type RawPod } from '../pod.js';
import type { DenyReason, InjectReason, SkipReason, UndecidableReason } from '../reasons.js';
import { findConflict } from './conflicts.js';
import { chooseVolume } from './volume-choice.js';
import type { InjectionSettings } from './settings.js';

/** The namespace's mode, told by the endpoint: `/mutate` → enabled, `/mutate/strict` → strict. */
export type Mode = 'enabled' | 'strict';
export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** Plain values in, so the same decision can be made on a stored pod (`mtls-injector check`). */
export interface DecideInput {
  /** The raw pod JSON (`request.object`, or a stored pod); never mutated. */
  readonly pod: unknown;
  /** `request.namespace`: the only namespace the identity and Secret can be in (G2). */
  readonly namespace: string;
  readonly mode: Mode;
  readonly operation: AdmissionOperation;
  /** Namespaces never injected: kube-system, kube-node-lease and the install namespace. */
  readonly excludedNamespaces: readonly string[];
  readonly settings: InjectionSettings;
  /** The namespace's delivery label as the endpoint tells it; absent means unset. */
  readonly delivery?: NamespaceDelivery;
  /**
   * SECRET_NAME_RANDOM_LENGTH characters of Kubernetes' name alphabet for a pod that has only `generateName`
   * (the caller draws it at random; core draws nothing). Ignored when the pod has a name or already records its Secret.
   */
  readonly secretSuffix: string;
}

/** What to do with a pod. `reason` is a code from REASONS; `message` is for humans and says what to do. */
export type Decision =
  | {
      readonly kind: 'inject';
      readonly reason: InjectReason;
      readonly message: string;
      readonly warnings: readonly string[];
      readonly identity: WorkloadIdentity;
      /** The Secret the pod mounts (secret delivery), null with podCertificate delivery. */
      readonly secretName: string | null;
      readonly delivery: DeliveryMode;
      /** Why this delivery (the namespace label, the install default, auto and what the rotator found). */
      readonly deliveryWhy: string;
      /** Non-empty JSONPatch against the input pod. */
      readonly patch: readonly PatchOperation[];
      /** The input pod with the patch applied. */
      readonly pod: RawPod;
    }
  | {
      readonly kind: 'skip';
      readonly reason: SkipReason;
      readonly message: string;
      readonly warnings: readonly string[];
      /**
       * Removes the `mtls-injector.io/*` labels and annotations the pod's author set (stripOwnKeys); empty when
       * there are none. A pod that is not injected never keeps keys claiming it was.
       */
      readonly patch: readonly PatchOperation[];
      /**
       * True when the pod would have been denied but `/mutate` fails open (`webhook.failOpen`): allowed
       * without an identity, and logged as a warning.
       */
      readonly failedOpen: boolean;
    }
  | {
      readonly kind: 'deny';
      readonly reason: DenyReason;
      readonly message: string;
      readonly warnings: readonly string[];
    };

const q = JSON.stringify;

function skip(reason: SkipReason, message: string, warn = false, failedOpen = false): Decision {
  return {
    kind: 'skip',
    reason,
    message,
    warnings: warn ? [`mtls-injector: ${message}`] : [],
    patch: [],
    failedOpen,
  };
}

function deny(reason: DenyReason, message: string): Decision {
  return { kind: 'deny', reason, message, warnings: [] };
}

/**
 * Cases that cannot be decided cleanly: denied in strict namespaces, allowed with a warning on `/mutate` when
 * failing open, otherwise denied with what to fix.
 */
function undecidable(input: DecideInput, reason: UndecidableReason, message: string): Decision {
  if (input.mode === 'enabled' && input.settings.failOpen) {
    return skip(reason, `not injected: ${message}`, true, true);
  }
  return deny(reason, message);
}

/**
 * Decides whether and how to inject a pod. Pure and total: every input gives a Decision (no throw), the same
 * input gives the same Decision, and the input is never mutated. An `inject` decision carries the patch; a pod
 * whose patch would be empty is `skip: already_injected`. A pod skipped on CREATE (other than an injected one)
 * loses the `mtls-injector.io/*` keys its author set: the skip carries the patch that removes them.
 */
export function decide(input: DecideInput): Decision {
  const decision = judge(input);
  if (decision.kind !== 'skip' || input.operation !== 'CREATE' || decision.reason === 'already_injected')
    return decision;
  const patch = stripOwnKeys(input.pod);
  return patch.length === 0 ? decision : { ...decision, patch };
}

function judge(input: DecideInput): Decision {
  const { namespace, mode, settings } = input;
  if (input.operation !== 'CREATE') {
    return skip('operation_not_create', `${input.operation} is never mutated; only pods being created are`);
  }
  if (input.excludedNamespaces.includes(namespace)) {
    return skip('excluded_namespace', `namespace ${q(namespace)} is never injected`);
  }
  const shape = checkPodShape(input.pod);
  if (!shape.ok) {
    return undecidable(input, 'malformed_pod', `the pod cannot be read (${shape.message}); fix the pod spec`);
  }
  const pod = shape.pod;
  const meta = pod.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const spec = pod.spec;

  if (meta.namespace != null && meta.namespace !== '' && meta.namespace !== namespace) {
    return deny(
      'namespace_mismatch',
      `pod metadata.namespace ${q(meta.namespace)} differs from the request namespace ${q(namespace)}; create the pod in the namespace it names`,
    );
  }
  if (annotations[MIRROR_POD_ANNOTATION] !== undefined) {
    return skip('mirror_pod', 'mirror pods of static pods cannot mount Secrets; not injected');
  }
  if ((spec.ephemeralContainers?.length ?? 0) > 0) {
    return skip('ephemeral_containers', 'pods created with ephemeralContainers are not injected');
  }

  const optOut = annotations[INJECT_ANNOTATION];
  if (optOut !== undefined) {
    const value = optOut.trim().toLowerCase();
    if (value === 'false') {
      if (mode === 'strict') {
        return deny(
          'opt_out_denied',
          `namespace ${q(namespace)} requires mTLS injection (${OPT_IN_LABEL}=strict); remove annotation ${INJECT_ANNOTATION}: "false" or run the pod in another namespace`,
        );
      }
      return skip('opted_out', `pod opted out with ${INJECT_ANNOTATION}: "false"; no mTLS identity`, true);
    }
    if (value !== 'true') {
      return undecidable(
        input,
        'invalid_inject_annotation',
        `annotation ${INJECT_ANNOTATION} is ${q(optOut)}; expected "true" or "false"`,
      );
    }
  }

  const windows = spec.os?.name === 'windows';
  // Only mtls-init needs an image of its own for Windows; without it (init.enabled=false) nothing does.
  if (windows && settings.initEnabled && settings.windowsInitImage === '') {
    if (mode === 'strict') {
      return deny(
        'windows_image_required',
        `namespace ${q(namespace)} requires mTLS injection (${OPT_IN_LABEL}=strict) and Windows pods cannot be injected: no init.windowsImage is configured; configure init.windowsImage or run the pod in another namespace`,
      );
    }
    return skip('windows_unsupported', 'Windows pod not injected: no init.windowsImage is configured', true);
  }

  const nsProblem = namespaceProblem(namespace);
  if (nsProblem !== undefined) {
    return deny('invalid_namespace', `invalid namespace name for a SPIFFE ID: ${nsProblem}`);
  }
  const serviceAccount = spec.serviceAccountName ?? '';
  if (serviceAccount === '') {
    if (mode === 'strict') {
      return deny(
        'service_account_required',
        'serviceAccountName required: the identity is derived from it; set spec.serviceAccountName',
      );
    }
    return skip(
      'service_account_missing',
      'pod has no serviceAccountName, so no identity; not injected (set spec.serviceAccountName)',
      true,
    );
  }
  const saProblem = serviceAccountProblem(serviceAccount);
  if (saProblem !== undefined) {
    return deny('invalid_service_account', `invalid service account name for a SPIFFE ID: ${saProblem}`);
  }
  let identity: WorkloadIdentity;
  try {
    identity = workloadIdentity(settings.trustDomain, namespace, serviceAccount);
  } catch (err) {
    if (!isInjectorError(err)) throw err;
    return deny('invalid_service_account', `invalid service account name for a SPIFFE ID: ${err.message}`);
  }

  const name = meta.name ?? '';
  const generateName = meta.generateName ?? '';
  if (name === '' && generateName === '') {
    return undecidable(input, 'malformed_pod', 'the pod has neither metadata.name nor metadata.generateName');
  }
  const status = parseStatus(annotations[STATUS_ANNOTATION]);
  const choice = chooseVolume(meta, spec, status, input.delivery ?? 'unset', settings, input.secretSuffix);
  if (!choice.ok) return undecidable(input, choice.reason, choice.message);
  const volume = choice.plan;
  const secretName = volume.kind === 'secret' ? volume.secretName : null;

  const conflict = findConflict(pod, status, volume, mode === 'enabled');
  if (conflict !== undefined) return deny(conflict.reason, conflict.message);

  const mutated = injectPod(pod, {
    identity,
    volume,
    withInit: settings.initEnabled,
    initImage: windows ? settings.windowsInitImage : settings.initImage,
    initImagePullPolicy: settings.initImagePullPolicy,
    initWaitTimeoutSeconds: settings.initWaitTimeoutSeconds,
    windows,
    ...(status !== undefined && annotations[SPIFFE_ID_ANNOTATION] !== undefined
      ? { previousSpiffeId: annotations[SPIFFE_ID_ANNOTATION] }
      : {}),
  });
  const patch = buildPatch(pod, mutated);
  const carrier =
    secretName === null
      ? `a podCertificate volume (signer ${q(settings.delivery.signerName)})`
      : `Secret ${q(secretName)}`;
  if (patch.length === 0) {
    return skip('already_injected', `already injected with ${carrier}`);
  }

  const warnings: string[] = [];
  if (annotations[STATUS_ANNOTATION] !== undefined && !hasInjectedStructure(pod, status)) {
    warnings.push(
      `mtls-injector: pod carried ${STATUS_ANNOTATION} without the injected volume or init container; injected again`,
    );
  }
  for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
    for (const mount of container.volumeMounts ?? []) {
      if (mount.name !== VOLUME_NAME || isOurMount(mount)) continue;
      if ((mount.subPath ?? '') !== '' || (mount.subPathExpr ?? '') !== '') {
        warnings.push(
          `mtls-injector: container ${q(container.name)} mounts ${VOLUME_NAME} with subPath at ${q(mount.mountPath)}; renewed certificates never reach subPath mounts, read them from /var/run/mtls`,
        );
      }
    }
  }
  const reason: InjectReason = status === undefined ? 'injected' : 'reinjected';
  return {
    kind: 'inject',
    reason,
    message:
      secretName === null
        ? `injected identity ${identity.spiffeId} with ${carrier}; delivery podCertificate: ${choice.why}`
        : `injected identity ${identity.spiffeId} with ${carrier}`,
    warnings,
    identity,
    secretName,
    delivery: volume.kind,
    deliveryWhy: choice.why,
    patch,
    pod: mutated,
  };
}
