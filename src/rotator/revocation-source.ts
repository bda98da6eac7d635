import { REVOCATIONS_CONFIGMAP } from '../core/names.js';
import { apiStatus, type ConfigMapApi } from '../kube/types.js';
import {
  findRevocation,
  isExpiredEntry,
  readRevocationRecord,
  revocationConfigMap,
  type RevocationEntry,
} from '../model/revocations.js';
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
  readonly changed: (entries: readonly RevocationEntry[]) => void;
}): RevocationSource {
  let entries: readonly RevocationEntry[] | undefined;
  let seen: string | undefined;
  let badVersion: string | undefined;
  const where = `${deps.namespace}/${REVOCATIONS_CONFIGMAP}`;

  const prune = async (live: readonly RevocationEntry[], resourceVersion: string): Promise<void> => {
    const timeoutMs = Math.min(WRITE_TIMEOUT_MS, deps.leadership.validUntil() - deps.clock());
    if (timeoutMs <= 0) return;
    try {
      const written = await deps.configMaps.replace(
        revocationConfigMap(deps.namespace, live, resourceVersion),
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
        return;
      }
      const cm = await deps.configMaps.get(deps.namespace, REVOCATIONS_CONFIGMAP).catch((err: unknown) => {
        deps.log.warn({ configMap: where, error: String(err) }, 'could not read the revocation record');
        return null;
      });
      if (cm === null) return;
      const version = cm?.metadata.resourceVersion ?? '';
      if (entries !== undefined && version === seen) {
        // Unchanged; entries whose certificate has expired since are dropped (and pruned from the record).
        const now = new Date(deps.clock());
        const live = entries.filter((e) => !isExpiredEntry(e, now));
        if (live.length === entries.length) return;
        entries = live;
        deps.changed(live);
        if (cm !== undefined) await prune(live, version);
        return;
      }
      let all: readonly RevocationEntry[];
      try {
        all = readRevocationRecord(cm).entries;
      } catch (err) {
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
      seen = version;
      entries = live;
      deps.changed(live);
      if (live.length < all.length && cm !== undefined) await prune(live, version);
    },
    entries: () => entries,
    find(serial, issuerKeyId) {
      if (entries === undefined || entries.length === 0) return undefined;
      return findRevocation(entries, serial, issuerKeyId, new Date(deps.clock()));
    },
  };
}
