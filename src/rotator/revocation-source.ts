import { REVOCATIONS_CONFIGMAP } from '../core/names.js';
import { apiStatus, type ConfigMapApi } from '../kube/types.js';
import {
  findRevocation,
  isExpiredEntry,
  mergeRevocations,
  readRevocationRecord,
  revocationConfigMap,
  type RevocationEntry,
} from '../model/revocations.js';
import { findPodRevocation, isExpiredPodRevocation, type PodRevocation } from '../model/pod-revocations.js';
import type { Log } from '../observability/logger.js';
import type { Leadership } from './leader.js';
import { WRITE_TIMEOUT_MS } from './secret-writer.js';

/** The revocation record as the leader last read it. */
export interface RevocationSource {
  /** Reads the record (leader only); calls `changed` when its resourceVersion moved. */
  poll(): Promise<void>;
  /** The live entries read last; undefined before the first good read (or while not leading). */
  entries(): readonly RevocationEntry[] | undefined;
  /** The live entry revoking `serial` of the CA with SubjectKeyIdentifier `issuerKeyId`, if any. */
  find(serial: string, issuerKeyId: string): RevocationEntry | undefined;
  /** The live pod entries read last (pods with pod certificates); undefined before the first good read. */
  pods(): readonly PodRevocation[] | undefined;
  /** The live pod entry revoking the pod with this UID, if any. */
  findPod(uid: string): PodRevocation | undefined;
  /**
   * Whether this leader has read the record since it started leading (even a record that did not parse: then
   * the last good one, or none, stands). The signer judges nothing before.
   */
  read(): boolean;
  /** Adds certificate entries to the record (the serials the signer knows for a revoked pod), merged. */
  add(fresh: readonly RevocationEntry[]): Promise<void>;
}

/**
 * Follows the revocation record (the ConfigMap `mtls-injector-revocations` in the install namespace, the one
 * source of truth, docs/adr/0006-revocation-record.md) by reading that one object by name: the leader reads it
 * on every poll and acts when its resourceVersion moved, so only `get` and `update` on that name are needed.
 * A record that does not parse is reported and the last good one kept (never overwritten). Entries whose
 * certificate has expired are pruned from it by the leader, with the resourceVersion read.
 */
export function createRevocationSource(deps: {
  readonly namespace: string;
  readonly configMaps: Pick<ConfigMapApi, 'get' | 'replace'>;
  readonly leadership: Pick<Leadership, 'isLeader' | 'validUntil'>;
  readonly clock: () => number;
  readonly log: Log;
  readonly changed: (entries: readonly RevocationEntry[], pods: readonly PodRevocation[]) => void;
}): RevocationSource {
  let entries: readonly RevocationEntry[] | undefined;
  let pods: readonly PodRevocation[] | undefined;
  let read = false;
  let seen: string | undefined;
  let badVersion: string | undefined;
  const where = `${deps.namespace}/${REVOCATIONS_CONFIGMAP}`;

  const prune = async (
    live: readonly RevocationEntry[],
    livePods: readonly PodRevocation[],
    resourceVersion: string,
  ): Promise<void> => {
    const timeoutMs = Math.min(WRITE_TIMEOUT_MS, deps.leadership.validUntil() - deps.clock());
    if (timeoutMs <= 0) return;
    try {
      const written = await deps.configMaps.replace(
        revocationConfigMap(deps.namespace, live, resourceVersion, livePods),
        { timeoutMs },
      );
      seen = written.metadata.resourceVersion;
    } catch (err) {
      // A conflict: someone revoked meanwhile; the next poll reads it and prunes again.
      if (apiStatus(err) !== 409)
        deps.log.warn({ configMap: where, error: String(err) }, 'could not prune the revocation record');
    }
  };

  return {
    async poll() {
      if (!deps.leadership.isLeader()) {
        seen = undefined; // a new leader reads afresh
        read = false;
        return;
      }
      const cm = await deps.configMaps.get(deps.namespace, REVOCATIONS_CONFIGMAP).catch((err: unknown) => {
        deps.log.warn({ configMap: where, error: String(err) }, 'could not read the revocation record');
        return null;
      });
      if (cm === null) return;
      const version = cm?.metadata.resourceVersion ?? '';
      if (entries !== undefined && pods !== undefined && version === seen) {
        // Unchanged; entries whose certificate has expired since are dropped (and pruned from the record).
        const now = new Date(deps.clock());
        const live = entries.filter((e) => !isExpiredEntry(e, now));
        const livePods = pods.filter((p) => !isExpiredPodRevocation(p, now));
        if (live.length === entries.length && livePods.length === pods.length) return;
        entries = live;
        pods = livePods;
        deps.changed(live, livePods);
        if (cm !== undefined) await prune(live, livePods, version);
        return;
      }
      let all: readonly RevocationEntry[];
      let allPods: readonly PodRevocation[];
      try {
        ({ entries: all, pods: allPods } = readRevocationRecord(cm));
      } catch (err) {
        read = true;
        if (badVersion !== version)
          deps.log.error(
            { configMap: where, error: err instanceof Error ? err.message : String(err) },
            'the revocation record does not parse; acting on the last good one (mtls-injector check reports it)',
          );
        badVersion = version;
        return;
      }
      const now = new Date(deps.clock());
      const live = all.filter((e) => !isExpiredEntry(e, now));
      const livePods = allPods.filter((p) => !isExpiredPodRevocation(p, now));
      seen = version;
      entries = live;
      pods = livePods;
      read = true;
      deps.changed(live, livePods);
      if ((live.length < all.length || livePods.length < allPods.length) && cm !== undefined)
        await prune(live, livePods, version);
    },
    entries: () => entries,
    pods: () => pods,
    findPod: (uid) => (pods === undefined ? undefined : findPodRevocation(pods, uid, new Date(deps.clock()))),
    read: () => read,
    async add(fresh) {
      const timeoutMs = Math.min(WRITE_TIMEOUT_MS, deps.leadership.validUntil() - deps.clock());
      if (timeoutMs <= 0 || fresh.length === 0) return;
      const cm = await deps.configMaps.get(deps.namespace, REVOCATIONS_CONFIGMAP);
      if (cm === undefined) return; // a pod entry lives in the record: it exists
      const record = readRevocationRecord(cm);
      const merged = mergeRevocations(record, fresh, new Date(deps.clock()));
      if (merged.added.length === 0) return;
      // A conflict throws: the caller tries again on its next pass, after the next read.
      await deps.configMaps.replace(
        revocationConfigMap(deps.namespace, merged.entries, record.resourceVersion, merged.pods),
        { timeoutMs },
      );
      deps.log.info(
        { configMap: where, serials: merged.added.map((e) => e.serial) },
        'added the serials the signer issued to revoked pods to the revocation record',
      );
    },
    find(serial, issuerKeyId) {
      if (entries === undefined || entries.length === 0) return undefined;
      return findRevocation(entries, serial, issuerKeyId, new Date(deps.clock()));
    },
  };
}
