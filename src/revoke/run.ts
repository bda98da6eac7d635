/**
 * `mtls-injector revoke`: resolves what to revoke, adds it to the revocation record (the ConfigMap
 * `mtls-injector-revocations` in the install namespace) with the resourceVersion it read, retrying on a
 * conflict, and writes an Event naming who revoked what on each affected pod and on the record. Nothing is
 * kept locally; a dry run reads the same and writes nothing.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';
import { REVOCATIONS_CONFIGMAP } from '../core/names.js';
import type { RevocationReason } from '../core/revocation.js';
import {
  apiStatus,
  type ConfigMapApi,
  type ConfigMapObject,
  type EventRecorder,
  type EventTarget,
} from '../kube/types.js';
import type { PodRevocation } from '../model/pod-revocations.js';
import {
  mergeRevocations,
  readRevocationRecord,
  type RevocationEntry,
  revocationConfigMap,
} from '../model/revocations.js';
import type { PodTarget } from './pod-certificate-targets.js';
import {
  type Candidate,
  describeTarget,
  resolveTarget,
  type RevokeTarget,
  type TargetApi,
} from './targets.js';

/** Writes one Event and resolves once it is stored; throws KubeApiError when it cannot be written. */
export type EventWriter = (...event: Parameters<EventRecorder['record']>) => Promise<void>;

/** The API the command uses; the real one in src/cli/revoke.ts, in-memory ones in tests. */
export interface RevokeDeps extends TargetApi {
  readonly configMaps: ConfigMapApi;
  readonly events: EventWriter;
  /** Who the kubeconfig authenticates as. */
  readonly whoami: () => Promise<string>;
  readonly now: Date;
}

/** What to revoke, why, and where the product is installed. */
export interface RevokeOptions {
  readonly target: RevokeTarget;
  readonly reason: RevocationReason;
  readonly installNamespace: string;
  readonly trustDomain: string;
  readonly leafLifetimeSeconds: number;
  readonly dryRun: boolean;
  /** Revoke a serial no managed Secret holds. */
  readonly force: boolean;
  /** podCertificate.signerName: which podCertificate volumes and requests are this installation's. */
  readonly signerName: string;
  /** podCertificate.maxExpiration (s): how long a revoked pod's UID stays denied (no certificate outlives it). */
  readonly maxExpirationSeconds: number;
}

/** What the command did (or, with dryRun, would do). */
export interface RevokeOutcome {
  readonly dryRun: boolean;
  readonly by: string;
  /** Newly revoked. */
  readonly revoked: readonly RevocationEntry[];
  /** Asked for, but revoked before: the existing entries. */
  readonly already: readonly RevocationEntry[];
  /** Pods with pod certificates newly revoked: the rotator evicts them and denies their UID new certificates. */
  readonly revokedPods: readonly PodRevocation[];
  /** Expired entries dropped from the record on the way. */
  readonly pruned: number;
  /** Things that did not stop the revocation (an Event that could not be written). */
  readonly warnings: readonly string[];
}

/** Event reason on each affected pod and on the record. */
export const REVOKED_EVENT_REASON = 'CertificateRevoked';

const MAX_ATTEMPTS = 5;

/** Runs one revocation. Throws InjectorError (nothing written) when the target does not resolve. */
export async function runRevoke(deps: RevokeDeps, options: RevokeOptions): Promise<RevokeOutcome> {
  const resolved = await resolveTarget(deps, options.target, {
    trustDomain: options.trustDomain,
    leafLifetimeSeconds: options.leafLifetimeSeconds,
    force: options.force,
    now: deps.now,
    signerName: options.signerName,
  });
  const by = await deps.whoami();
  const fresh = resolved.candidates.map((c) => entryOf(c, options, by, deps.now));
  const freshPods = resolved.pods.map((p) => podEntryOf(p, options, by, deps.now));
  const ns = options.installNamespace;

  for (let attempt = 1; ; attempt++) {
    const current = await deps.configMaps.get(ns, REVOCATIONS_CONFIGMAP);
    const record = readRevocationRecord(current);
    const merged = mergeRevocations(record, fresh, deps.now, freshPods);
    const outcome = {
      dryRun: options.dryRun,
      by,
      revoked: merged.added,
      already: merged.already,
      revokedPods: merged.addedPods,
      pruned: merged.pruned,
    };
    if (options.dryRun || merged.added.length + merged.addedPods.length === 0)
      return { ...outcome, warnings: resolved.warnings };
    const body = revocationConfigMap(ns, merged.entries, record.resourceVersion, merged.pods);
    let written: ConfigMapObject;
    try {
      written =
        current === undefined ? await deps.configMaps.create(body) : await deps.configMaps.replace(body);
    } catch (err) {
      // 409: another revoke (or the rotator pruning) wrote first, or created the record; read it again.
      if (apiStatus(err) === 409 && attempt < MAX_ATTEMPTS) continue;
      if (apiStatus(err) === 409) {
        throw new InjectorError(
          ErrorCode.KubeApi,
          `ConfigMap ${ns}/${REVOCATIONS_CONFIGMAP} changed under every one of ${MAX_ATTEMPTS} writes; nothing was revoked, run the command again`,
          { cause: err },
        );
      }
      throw err;
    }
    const warnings = await writeEvents(deps.events, merged, by, describeTarget(options.target), {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      namespace: ns,
      name: REVOCATIONS_CONFIGMAP,
      ...(written.metadata.uid === undefined ? {} : { uid: written.metadata.uid }),
    });
    return { ...outcome, warnings: [...resolved.warnings, ...warnings] };
  }
}

function podEntryOf(p: PodTarget, options: RevokeOptions, by: string, now: Date): PodRevocation {
  return {
    pod: `${p.namespace}/${p.name}`,
    uid: p.uid,
    identity: p.identity === '' ? null : p.identity,
    reason: options.reason,
    revokedAt: now.toISOString(),
    until: new Date(now.getTime() + options.maxExpirationSeconds * 1000).toISOString(),
    by,
    target: describeTarget(options.target),
  };
}

function entryOf(c: Candidate, options: RevokeOptions, by: string, now: Date): RevocationEntry {
  return {
    serial: c.serial,
    issuer: c.issuer,
    reason: options.reason,
    revokedAt: now.toISOString(),
    notAfter: c.notAfter.toISOString(),
    identity: c.identity,
    pod: c.pod === null ? null : `${c.pod.namespace}/${c.pod.name}`,
    by,
    target: describeTarget(options.target),
  };
}

/**
 * One Warning Event per affected pod and one on the record, each naming who revoked which serial and why.
 * The record is the source of truth: an Event that cannot be written (RBAC, API) is a warning, not a failure.
 */
async function writeEvents(
  events: EventWriter,
  merged: { readonly added: readonly RevocationEntry[]; readonly addedPods: readonly PodRevocation[] },
  by: string,
  target: string,
  record: EventTarget,
): Promise<string[]> {
  const { added, addedPods } = merged;
  const warnings: string[] = [];
  const write = async (on: EventTarget, message: string): Promise<void> => {
    try {
      await events(on, 'Warning', REVOKED_EVENT_REASON, message);
    } catch (err) {
      warnings.push(
        `could not write the Event on ${on.kind} ${on.namespace}/${on.name} (${err instanceof Error ? err.message : String(err)}); the revocation is recorded`,
      );
    }
  };
  for (const entry of added) {
    if (entry.pod === null) continue;
    const [namespace = '', name = ''] = entry.pod.split('/');
    await write(
      { kind: 'Pod', apiVersion: 'v1', namespace, name },
      `${by} revoked certificate serial ${entry.serial} (${entry.identity ?? 'unknown identity'}) of this pod, ` +
        `reason ${entry.reason} (revoke ${entry.target})`,
    );
  }
  for (const p of addedPods) {
    const [namespace = '', name = ''] = p.pod.split('/');
    await write(
      { kind: 'Pod', apiVersion: 'v1', namespace, name, uid: p.uid },
      `${by} revoked the pod certificates of this pod (${p.identity ?? 'unknown identity'}), reason ${p.reason} ` +
        `(revoke ${p.target}): the rotator evicts it and denies its new certificate requests`,
    );
  }
  const serials = added.map((e) => e.serial);
  const reason = added[0]?.reason ?? addedPods[0]?.reason ?? 'unspecified';
  const pods =
    addedPods.length === 0 ? '' : ` and ${addedPods.length} pod(s) with pod certificates (evicted, denied)`;
  await write(
    record,
    `${by} revoked ${added.length} certificate(s)${pods} for ${target}, reason ${reason}` +
      (serials.length === 0
        ? ''
        : `: serial ${serials.slice(0, 10).join(', ')}${serials.length > 10 ? ` and ${serials.length - 10} more` : ''}`),
  );
  return warnings;
}
