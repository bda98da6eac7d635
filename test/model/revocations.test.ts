import { describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import { REVOCATIONS_CONFIGMAP, REVOCATIONS_KEY } from '../../src/core/names.js';
import {
  entriesForIssuer,
  findRevocation,
  MAX_RECORD_BYTES,
  mergeRevocations,
  readRevocationRecord,
  type RevocationEntry,
  revocationConfigMap,
} from '../../src/model/revocations.js';

const NOW = new Date('2026-12-01T12:00:00Z');

function entry(serial: string, extra: Partial<RevocationEntry> = {}): RevocationEntry {
  return {
    serial,
    issuer: 'aa11',
    reason: 'keyCompromise',
    revokedAt: '2026-12-01T11:00:00.000Z',
    notAfter: '2026-12-02T00:00:00.000Z',
    identity: 'spiffe://cluster.local/ns/shop/sa/web',
    pod: 'shop/web-0',
    by: 'alice',
    target: 'pod shop/web-0',
    ...extra,
  };
}

describe('the revocation record ConfigMap', () => {
  it('round-trips, one entry per line, in the install namespace under a fixed name', () => {
    const entries = [entry('0a'), entry('0b', { issuer: null, pod: null, identity: null })];
    const cm = revocationConfigMap('mtls-injector', entries, '7');
    expect(cm.metadata).toMatchObject({
      name: REVOCATIONS_CONFIGMAP,
      namespace: 'mtls-injector',
      resourceVersion: '7',
    });
    const text = cm.data?.[REVOCATIONS_KEY] ?? '';
    expect(text.split('\n')).toHaveLength(5);
    expect(readRevocationRecord(cm)).toEqual({ entries, pods: [], resourceVersion: '7' });
    expect(text).not.toContain('"pods"'); // a record without pod entries reads as before
    expect(readRevocationRecord(undefined)).toEqual({ entries: [], pods: [], resourceVersion: undefined });
  });

  it('keeps pod entries (pod certificates) beside the serials, merges them by UID and prunes them after until', () => {
    const pod = {
      pod: 'shop/web-1',
      uid: 'uid-1',
      identity: 'spiffe://cluster.local/ns/shop/sa/web',
      reason: 'keyCompromise' as const,
      revokedAt: '2026-12-01T11:00:00.000Z',
      until: '2026-12-02T11:00:00.000Z',
      by: 'alice',
      target: 'pod shop/web-1',
    };
    const cm = revocationConfigMap('mtls-injector', [entry('0a')], '7', [pod]);
    expect(readRevocationRecord(cm).pods).toEqual([pod]);

    const record = readRevocationRecord(cm);
    const again = mergeRevocations(record, [], NOW, [{ ...pod, by: 'bob' }]);
    expect(again.addedPods).toEqual([]);
    expect(again.pods).toEqual([pod]);
    const later = new Date(Date.parse(pod.until) + 301_000);
    const pruned = mergeRevocations(record, [], later, [{ ...pod, uid: 'uid-2' }]);
    expect(pruned.pods.map((p) => p.uid)).toEqual(['uid-2']);
    expect(pruned.pruned).toBeGreaterThanOrEqual(1);

    const bad = {
      ...cm,
      data: {
        [REVOCATIONS_KEY]: JSON.stringify({ schemaVersion: 1, revoked: [], pods: [{ ...pod, pod: 'x' }] }),
      },
    };
    expect(() => readRevocationRecord(bad)).toThrow(/pods\[0\]: pod "x" is not NAMESPACE\/NAME/);
  });

  it.each([
    ['not JSON', '{', /is not JSON/],
    ['another schema', '{"schemaVersion": 2, "revoked": []}', /expected \{"schemaVersion": 1/],
    ['revoked not a list', '{"schemaVersion": 1, "revoked": {}}', /"revoked" to be an array/],
    [
      'a bad serial',
      JSON.stringify({ schemaVersion: 1, revoked: [{ ...entry('0a'), serial: 'x' }] }),
      /revoked\[0\]: serial "x" is not a hexadecimal/,
    ],
    [
      'an unknown reason',
      JSON.stringify({ schemaVersion: 1, revoked: [{ ...entry('0a'), reason: 'cACompromise' }] }),
      /reason "cACompromise" is not known/,
    ],
    [
      'a bad date',
      JSON.stringify({ schemaVersion: 1, revoked: [{ ...entry('0a'), notAfter: 'soon' }] }),
      /"notAfter" is not a date/,
    ],
    [
      'a bad issuer',
      JSON.stringify({ schemaVersion: 1, revoked: [{ ...entry('0a'), issuer: 'AA:11' }] }),
      /issuer "AA:11"/,
    ],
  ])('refuses %s, naming the ConfigMap and the entry', (_case, text, message) => {
    let caught: unknown;
    try {
      readRevocationRecord({
        metadata: { name: REVOCATIONS_CONFIGMAP, namespace: 'ns' },
        data: { [REVOCATIONS_KEY]: text },
      });
    } catch (err) {
      caught = err;
    }
    expect(isInjectorError(caught, 'MTLS_ERR_REVOKE_RECORD_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toContain(`ConfigMap ns/${REVOCATIONS_CONFIGMAP}`);
  });
});

describe('mergeRevocations', () => {
  it('adds new serials, keeps the first revocation of a serial, drops expired entries', () => {
    const expired = entry('01', { notAfter: '2026-12-01T11:50:00.000Z' }); // past notAfter + 5 min
    const inGrace = entry('02', { notAfter: '2026-12-01T11:56:00.000Z' });
    const kept = entry('03');
    const merged = mergeRevocations(
      { entries: [expired, inGrace, kept], pods: [], resourceVersion: '1' },
      [entry('03', { reason: 'superseded' }), entry('04'), entry('03', { issuer: 'bb22' })],
      NOW,
    );
    expect(merged.pruned).toBe(1);
    expect(merged.already).toEqual([kept]);
    expect(merged.added.map((e) => `${e.issuer}/${e.serial}`)).toEqual(['aa11/04', 'bb22/03']);
    expect(merged.entries.map((e) => e.serial)).toEqual(['02', '03', '04', '03']);
  });

  it('refuses to grow the record past its limit, pointing at a CA rotation', () => {
    const many = Array.from({ length: 4000 }, (_, i) => entry((0x100000 + i).toString(16)));
    let caught: unknown;
    try {
      mergeRevocations({ entries: [], pods: [], resourceVersion: undefined }, many, NOW);
    } catch (err) {
      caught = err;
    }
    expect(isInjectorError(caught, 'MTLS_ERR_REVOKE_RECORD_FULL')).toBe(true);
    expect((caught as Error).message).toMatch(
      new RegExp(`over its ${MAX_RECORD_BYTES / 1024} KiB limit.*ca rotate prepare`),
    );
  });
});

describe('lookups', () => {
  const entries = [entry('0a'), entry('0b', { issuer: 'bb22' }), entry('0c', { issuer: null })];
  it("gives each CA's CRL its own entries plus the forced ones of unknown issuer", () => {
    expect(entriesForIssuer(entries, 'AA11', NOW).map((e) => e.serial)).toEqual(['0a', '0c']);
    expect(entriesForIssuer(entries, 'bb22', NOW).map((e) => e.serial)).toEqual(['0b', '0c']);
    expect(entriesForIssuer(entries, 'aa11', new Date('2026-12-03T00:00:00Z'))).toEqual([]);
  });
  it('finds a revocation by serial in any spelling, for one issuer or any', () => {
    expect(findRevocation(entries, '0x0A', 'aa11', NOW)?.serial).toBe('0a');
    expect(findRevocation(entries, '0a', 'bb22', NOW)).toBeUndefined();
    expect(findRevocation(entries, '0c', 'cc33', NOW)?.serial).toBe('0c');
    expect(findRevocation(entries, '0b', undefined, NOW)?.issuer).toBe('bb22');
  });
});
