/**
 * The revocation record (docs/revocation.md): the ConfigMap `mtls-injector-revocations` in the install
 * namespace lists every revoked certificate that has not expired yet. `mtls-injector revoke` adds to it and
 * the rotator builds each issuing CA's CRL from it; both write with the resourceVersion they read, and both
 * drop entries whose certificate has expired. Pure: parsing, merging, pruning and the ConfigMap's layout.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';
import { REVOCATIONS_CONFIGMAP, REVOCATIONS_KEY } from '../core/names.js';
import {
  canonicalSerial,
  isRevocationReason,
  type RevocationReason,
  serialProblem,
} from '../core/revocation.js';
import type { ConfigMapObject } from '../kube/types.js';
import {
  isExpiredPodRevocation,
  mergePodRevocations,
  type PodRevocation,
  readPodRevocation,
} from './pod-revocations.js';

/** Version of the record's JSON; bumped only with a migration for older records. */
export const REVOCATIONS_SCHEMA_VERSION = 1;

/**
 * The record's JSON must stay well under the 1 MiB a ConfigMap can hold. An entry takes 300–420 bytes
 * (longer names, more bytes), so this is about 2,200–3,000 live revocations: more than a CRL copied into every
 * managed Secret can sensibly carry (`npm run bench:crl`; docs/adr/0006-revocation-record.md). Past it,
 * `revoke` refuses and points at a CA rotation.
 */
export const MAX_RECORD_BYTES = 900 * 1024;

/** Entries stay this long past their certificate's notAfter, like the CRL's own grace (faults F5). */
export const RECORD_PRUNE_GRACE_SECONDS = 300;

/** One revoked certificate. */
export interface RevocationEntry {
  /** Canonical hex (canonicalSerial). */
  readonly serial: string;
  /**
   * SubjectKeyIdentifier (hex) of the CA that issued it, i.e. the certificate's AuthorityKeyIdentifier: the
   * CRL it goes on. Null when unknown (a serial revoked with --force): then it goes on every CA's CRL.
   */
  readonly issuer: string | null;
  readonly reason: RevocationReason;
  /** ISO 8601. */
  readonly revokedAt: string;
  /** The certificate's notAfter (ISO 8601): the entry is dropped once it has passed. */
  readonly notAfter: string;
  /** The SPIFFE ID the certificate carried, when known. */
  readonly identity: string | null;
  /** `namespace/name` of the pod whose Secret held it, when known. */
  readonly pod: string | null;
  /** Who revoked it (the Kubernetes user of the `revoke` call). */
  readonly by: string;
  /** What was asked: `pod NS/NAME`, `service-account NS/SA` or `serial HEX`. */
  readonly target: string;
}

/**
 * The record as read: its certificate entries, its pod entries (pods with pod certificates, evicted and denied
 * new ones: src/model/pod-revocations.ts) and the resourceVersion to write back with (undefined: not created).
 */
export interface RevocationRecord {
  readonly entries: readonly RevocationEntry[];
  readonly pods: readonly PodRevocation[];
  readonly resourceVersion: string | undefined;
}

/**
 * Reads the record from its ConfigMap (undefined: none yet, an empty record). Throws
 * MTLS_ERR_REVOKE_RECORD_INVALID naming the entry when the JSON is not a record, so a hand edit that broke it
 * is found rather than silently un-revoking anything.
 */
export function readRevocationRecord(configMap: ConfigMapObject | undefined): RevocationRecord {
  if (configMap === undefined) return { entries: [], pods: [], resourceVersion: undefined };
  const where = `ConfigMap ${configMap.metadata.namespace ?? ''}/${configMap.metadata.name ?? ''}`;
  const text = configMap.data?.[REVOCATIONS_KEY];
  if (text === undefined || text.trim() === '') {
    return { entries: [], pods: [], resourceVersion: configMap.metadata.resourceVersion };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(
      where,
      `${REVOCATIONS_KEY} is not JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const body = json as { schemaVersion?: unknown; revoked?: unknown; pods?: unknown };
  if (typeof json !== 'object' || json === null || body.schemaVersion !== REVOCATIONS_SCHEMA_VERSION) {
    throw invalid(where, `expected {"schemaVersion": ${REVOCATIONS_SCHEMA_VERSION}, "revoked": [...]}`);
  }
  if (!Array.isArray(body.revoked)) throw invalid(where, 'expected "revoked" to be an array');
  const entries = (body.revoked as unknown[]).map((raw, i) => readEntry(raw, `${where}: revoked[${i}]`));
  if (body.pods !== undefined && !Array.isArray(body.pods))
    throw invalid(where, 'expected "pods" to be an array');
  const pods = ((body.pods ?? []) as unknown[]).map((raw, i) =>
    readPodRevocation(raw, (detail) => invalid(`${where}: pods[${i}]`, detail)),
  );
  return { entries, pods, resourceVersion: configMap.metadata.resourceVersion };
}

/**
 * The ConfigMap holding `entries` (and `pods`), carrying `resourceVersion` for a replace (none for a create).
 */
export function revocationConfigMap(
  namespace: string,
  entries: readonly RevocationEntry[],
  resourceVersion: string | undefined,
  pods: readonly PodRevocation[] = [],
): ConfigMapObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: REVOCATIONS_CONFIGMAP,
      namespace,
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
      labels: { 'app.kubernetes.io/name': 'mtls-injector', 'app.kubernetes.io/component': 'revocations' },
    },
    data: { [REVOCATIONS_KEY]: serializeEntries(entries, pods) },
  };
}

/**
 * The record's JSON, one entry per line so `kubectl get -o yaml` and diffs stay readable; entries in
 * revocation order. `pods` only when there are any (a record without pod entries reads as before).
 */
export function serializeEntries(
  entries: readonly RevocationEntry[],
  pods: readonly PodRevocation[] = [],
): string {
  const list = (items: readonly object[]) => {
    const lines = items.map((e) => `  ${JSON.stringify(e)}`);
    return lines.length === 0 ? '[]' : `[\n${lines.join(',\n')}\n]`;
  };
  const podPart = pods.length === 0 ? '' : `, "pods": ${list(pods)}`;
  return `{"schemaVersion": ${REVOCATIONS_SCHEMA_VERSION}, "revoked": ${list(entries)}${podPart}}\n`;
}

/** Whether the entry's certificate (plus the grace) has expired at `now`. */
export function isExpiredEntry(entry: RevocationEntry, now: Date): boolean {
  return Date.parse(entry.notAfter) + RECORD_PRUNE_GRACE_SECONDS * 1000 < now.getTime();
}

/** The outcome of merging new revocations into a record. */
export interface MergeResult {
  /** The entries to write: the live old ones, then the new ones. */
  readonly entries: readonly RevocationEntry[];
  /** The pod entries to write, likewise. */
  readonly pods: readonly PodRevocation[];
  /** New pod entries whose UID was not revoked yet. */
  readonly addedPods: readonly PodRevocation[];
  /** New entries that were not in the record. */
  readonly added: readonly RevocationEntry[];
  /** New entries whose serial (for that issuer) was already revoked: the existing entries. */
  readonly already: readonly RevocationEntry[];
  /** How many expired entries (of both kinds) were dropped. */
  readonly pruned: number;
}

/**
 * Adds `fresh` to `record`: expired entries are dropped, a serial already revoked for the same issuer is kept
 * as it was (first revocation wins). Throws MTLS_ERR_REVOKE_RECORD_FULL when the result would not fit.
 */
export function mergeRevocations(
  record: RevocationRecord,
  fresh: readonly RevocationEntry[],
  now: Date,
  freshPods: readonly PodRevocation[] = [],
): MergeResult {
  const live = record.entries.filter((e) => !isExpiredEntry(e, now));
  const livePods = record.pods.filter((p) => !isExpiredPodRevocation(p, now));
  const podMerge = mergePodRevocations(livePods, freshPods);
  const seen = new Map(live.map((e) => [entryKey(e), e]));
  const added: RevocationEntry[] = [];
  const already: RevocationEntry[] = [];
  for (const entry of fresh) {
    const existing = seen.get(entryKey(entry));
    if (existing !== undefined) {
      if (!already.includes(existing)) already.push(existing);
      continue;
    }
    seen.set(entryKey(entry), entry);
    added.push(entry);
  }
  const entries = [...live, ...added];
  const bytes = Buffer.byteLength(serializeEntries(entries, podMerge.pods));
  if (added.length + podMerge.added.length > 0 && bytes > MAX_RECORD_BYTES) {
    throw new InjectorError(
      ErrorCode.RevokeRecordFull,
      `the revocation record would hold ${entries.length} live entries (${Math.ceil(bytes / 1024)} KiB), over its ` +
        `${MAX_RECORD_BYTES / 1024} KiB limit; a compromise this wide calls for a new CA: run ` +
        '`mtls-injector ca rotate prepare` (docs/revocation.md, "Limits")',
    );
  }
  return {
    entries,
    pods: podMerge.pods,
    addedPods: podMerge.added,
    added,
    already,
    pruned: record.entries.length - live.length + record.pods.length - livePods.length,
  };
}

/** The live entries that go on the CRL of the CA whose SubjectKeyIdentifier is `issuerKeyIdHex`. */
export function entriesForIssuer(
  entries: readonly RevocationEntry[],
  issuerKeyIdHex: string,
  now: Date,
): RevocationEntry[] {
  const ski = issuerKeyIdHex.toLowerCase();
  return entries.filter((e) => (e.issuer === null || e.issuer === ski) && !isExpiredEntry(e, now));
}

/** The live entry revoking `serial` of issuer `issuerKeyIdHex` (or of any issuer when undefined). */
export function findRevocation(
  entries: readonly RevocationEntry[],
  serial: string,
  issuerKeyIdHex: string | undefined,
  now: Date,
): RevocationEntry | undefined {
  const wanted = canonicalSerial(serial);
  const ski = issuerKeyIdHex?.toLowerCase();
  return entries.find(
    (e) =>
      e.serial === wanted &&
      (ski === undefined || e.issuer === null || e.issuer === ski) &&
      !isExpiredEntry(e, now),
  );
}

function entryKey(entry: RevocationEntry): string {
  return `${entry.issuer ?? '*'}/${entry.serial}`;
}

function readEntry(raw: unknown, where: string): RevocationEntry {
  if (typeof raw !== 'object' || raw === null) throw invalid(where, 'expected an object');
  const r = raw as Record<string, unknown>;
  const text = (key: string): string => {
    const value = r[key];
    if (typeof value !== 'string' || value === '') throw invalid(where, `expected "${key}" to be a string`);
    return value;
  };
  const maybe = (key: string): string | null => {
    const value = r[key];
    if (value === null || value === undefined) return null;
    if (typeof value !== 'string') throw invalid(where, `expected "${key}" to be a string or null`);
    return value;
  };
  const serial = text('serial');
  const serialWrong = serialProblem(serial);
  if (serialWrong !== undefined) throw invalid(where, serialWrong);
  const reason = text('reason');
  if (!isRevocationReason(reason)) throw invalid(where, `reason ${JSON.stringify(reason)} is not known`);
  const issuer = maybe('issuer');
  if (issuer !== null && !/^[0-9a-f]+$/.test(issuer)) {
    throw invalid(where, `issuer ${JSON.stringify(issuer)} is not a lowercase hex key identifier`);
  }
  for (const key of ['revokedAt', 'notAfter']) {
    if (Number.isNaN(Date.parse(text(key)))) throw invalid(where, `"${key}" is not a date`);
  }
  return {
    serial: canonicalSerial(serial),
    issuer,
    reason,
    revokedAt: text('revokedAt'),
    notAfter: text('notAfter'),
    identity: maybe('identity'),
    pod: maybe('pod'),
    by: text('by'),
    target: text('target'),
  };
}

function invalid(where: string, detail: string): InjectorError {
  return new InjectorError(
    ErrorCode.RevokeRecordInvalid,
    `revocation record ${where}: ${detail}; fix or restore the ConfigMap (revocations are only added by ` +
      '`mtls-injector revoke` and dropped once expired)',
  );
}
