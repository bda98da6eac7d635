/**
 * What the leader does for a revoked pod with pod certificates (docs/revocation.md, "Pods with pod
 * certificates"): the product cannot push it a new certificate (the kubelet holds the key and asks again only at
 * beginRefreshAt), so it
 *   1. adds to the revocation record the serial of every certificate it knows it issued for that pod UID (the
 *      issued index: PodCertificateRequests vanish 15 minutes after creation), so they go on the CRL;
 *   2. evicts the pod through the Eviction API (PodDisruptionBudgets honoured; retried while one blocks), so its
 *      controller replaces it with a new pod, a new key and a new certificate;
 * while the signer denies every request naming that UID (PodRevoked). One work item per revoked pod on the
 * controller's queue, so only the leader acts; re-checked every minute while the entry lives.
 */
import type { EvictPod } from '../../kube/eviction.js';
import type { EventRecorder } from '../../kube/types.js';
import type { RevocationEntry } from '../../model/revocations.js';
import type { ItemKind } from '../ports.js';
import type { RevocationSource } from '../revocation-source.js';
import type { IssuedIndex } from './issued.js';
import { writeDeadline, type WriteWindow } from './write-window.js';

/** Work items: `revoked-pod:<uid>`. */
export const REVOKED_POD_PREFIX = 'revoked-pod:';
/** While an eviction is blocked (a PodDisruptionBudget), it is tried again this often. */
export const EVICTION_RETRY_MS = 10_000;
/** Revoked pods are looked at again this often (serials learned later, a pod re-created under the same UID). */
const RECHECK_MS = 60_000;

/** Event reasons on the revoked pod. */
export const EVICTED_REASON = 'RevokedPodEvicted';
export const EVICTION_BLOCKED_REASON = 'RevokedPodEvictionBlocked';

/** The revoked-pods item kind; `changed` queues every live entry (the record moved). */
export function revokedPods(deps: {
  /** The record as the leader read it: its pod entries, what it lists, and adding certificate entries. */
  readonly revocations: Pick<RevocationSource, 'pods' | 'find' | 'add'>;
  readonly issued: IssuedIndex;
  readonly evict: EvictPod;
  readonly events: EventRecorder;
  readonly log: {
    info(fields: object, message: string): void;
    warn(fields: object, message: string): void;
  };
  readonly clock: () => number;
  readonly enqueue: (item: string, at?: number) => void;
  readonly writeWindowMs: WriteWindow;
}): ItemKind & { changed(): void } {
  /** UIDs whose pod is evicted or gone (this replica). */
  const done = new Set<string>();
  /** UIDs whose blocked eviction was reported (once each). */
  const blocked = new Set<string>();
  const { revocations } = deps;
  const items = () => (revocations.pods() ?? []).map((p) => `${REVOKED_POD_PREFIX}${p.uid}`);

  return {
    prefix: REVOKED_POD_PREFIX,
    items,
    changed() {
      for (const item of items()) deps.enqueue(item);
    },
    async sync(item) {
      const uid = item.slice(REVOKED_POD_PREFIX.length);
      const entry = (revocations.pods() ?? []).find((p) => p.uid === uid);
      if (entry === undefined) {
        done.delete(uid);
        blocked.delete(uid);
        return;
      }
      const [namespace = '', name = ''] = entry.pod.split('/');
      const target = { kind: 'Pod', apiVersion: 'v1', namespace, name, uid };

      // 1. Every serial known for this pod goes on the record (and so on the CRL).
      const fresh: RevocationEntry[] = deps.issued
        .forPod(uid)
        .filter((leaf) => revocations.find(leaf.serial, leaf.issuer ?? '') === undefined)
        .map((leaf) => ({
          serial: leaf.serial,
          issuer: leaf.issuer,
          reason: entry.reason,
          revokedAt: entry.revokedAt,
          notAfter: leaf.notAfter.toISOString(),
          identity: leaf.identity ?? entry.identity,
          pod: entry.pod,
          by: entry.by,
          target: entry.target,
        }));
      if (fresh.length > 0) await revocations.add(fresh);

      // 2. Out of service: evicted once (its controller makes a new pod with a new key).
      if (!done.has(uid)) {
        const outcome = await deps.evict(
          namespace,
          name,
          uid,
          writeDeadline(`the eviction of Pod ${entry.pod}`, deps.writeWindowMs),
        );
        if (outcome === 'blocked') {
          if (!blocked.has(uid)) {
            blocked.add(uid);
            const message = `Eviction of revoked pod ${entry.pod} is blocked by a PodDisruptionBudget; retrying every ${EVICTION_RETRY_MS / 1000} s. It gets no new certificate (its requests are denied) and peers refuse its revoked ones; delete it to replace it now`;
            deps.events.record(target, 'Warning', EVICTION_BLOCKED_REASON, message);
            deps.log.warn({ pod: entry.pod, uid }, message);
          }
          deps.enqueue(item, deps.clock() + EVICTION_RETRY_MS);
          return;
        }
        done.add(uid);
        if (outcome === 'evicted') {
          const message = `Evicted: its pod certificate was revoked by ${entry.by} at ${entry.revokedAt} (${entry.reason}); its controller's replacement gets a new key and certificate`;
          deps.events.record(target, 'Warning', EVICTED_REASON, message);
          deps.log.info({ pod: entry.pod, uid, reason: entry.reason }, 'revoked pod evicted');
        }
      }
      deps.enqueue(item, deps.clock() + RECHECK_MS);
    },
  };
}
