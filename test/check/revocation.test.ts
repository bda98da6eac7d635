import { describe, expect, it } from 'vitest';
import { checkPod } from '../../src/check/pod.js';
import { checkRevocationRecord, readRevocationLookup } from '../../src/check/revocation.js';
import { renderCheck } from '../../src/check/render.js';
import { REVOCATIONS_CONFIGMAP, REVOCATIONS_KEY } from '../../src/core/names.js';
import type { PodObject, SecretObject } from '../../src/kube/types.js';
import { type RevocationEntry, revocationConfigMap } from '../../src/model/revocations.js';
import { encodeFiles, secretFile } from '../../src/model/secret-data.js';
import { buildCrl } from '../../src/pki/crl.js';
import { leafSummary } from '../../src/pki/x509.js';
import { FakeConfigMapApi } from '../fakes/configmaps.js';
import { apiError } from '../fakes/kube.js';
import { DAY, excluded, injectedPod, NOW, rootCa, settings, workloadSecret } from './fixtures.js';

const ca = rootCa({ now: new Date(NOW.getTime() - 10 * DAY * 1000) });
const HOUR = 3_600_000;

function leafOf(secret: SecretObject) {
  const leaf = leafSummary(secretFile(secret, 'tls.crt') ?? '');
  if (leaf === undefined) throw new Error('no leaf');
  return leaf;
}

function revocation(secret: SecretObject, extra: Partial<RevocationEntry> = {}): RevocationEntry {
  const leaf = leafOf(secret);
  return {
    serial: leaf.serialHex,
    issuer: leaf.issuerKeyIdHex ?? null,
    reason: 'keyCompromise',
    revokedAt: NOW.toISOString(),
    notAfter: leaf.notAfter.toISOString(),
    identity: leaf.spiffeId ?? null,
    pod: 'shop/web-0',
    by: 'alice',
    target: 'pod shop/web-0',
    ...extra,
  };
}

/** The Secret with a ca.crl listing `serials`, valid from `thisUpdate` for `hours`. */
function withCrl(
  secret: SecretObject,
  serials: readonly string[],
  thisUpdate = NOW,
  hours = 24,
): SecretObject {
  const crl = buildCrl(ca, {
    crlNumber: 5n,
    thisUpdate,
    nextUpdate: new Date(thisUpdate.getTime() + hours * HOUR),
    entries: serials.map((s) => ({
      serialHex: s,
      revokedAt: thisUpdate,
      reason: 'keyCompromise',
      notAfter: new Date(NOW.getTime() + DAY * 1000),
    })),
  });
  return { ...secret, data: { ...secret.data, ...encodeFiles({ 'ca.crl': crl.pem }) } };
}

function judge(pod: PodObject, secret: SecretObject, revocations: readonly RevocationEntry[] | undefined) {
  const report = checkPod({
    pod,
    namespace: 'shop',
    namespaceLabels: { 'mtls-injection': 'enabled' },
    settings,
    excludedNamespaces: excluded,
    secret: { kind: 'found', secret },
    clusterBundlePem: ca.trustBundlePem,
    revocations,
    now: NOW,
  });
  const by = Object.fromEntries(report.checks.map((c) => [c.name, c]));
  return { report, revocationCheck: by['certificate-revocation'], crl: by['crl'] };
}

describe('check: revocation of a pod certificate', () => {
  const pod = injectedPod('web-0');
  const secret = workloadSecret(ca, pod);
  const serial = leafOf(secret).serialHex;

  it('a certificate in the record is an error naming serial, reason and who; a Secret without ca.crl then warns', () => {
    const { report, revocationCheck, crl } = judge(pod, secret, [revocation(secret)]);
    expect(revocationCheck).toMatchObject({ ok: false, severity: 'error', reason: 'certificate_revoked' });
    expect(revocationCheck?.message).toContain(
      `serial ${serial} was revoked (keyCompromise) at ${NOW.toISOString()} by alice`,
    );
    expect(crl).toMatchObject({ severity: 'warning', reason: 'crl_missing' });
    expect(report.certificate?.revoked).toEqual({
      reason: 'keyCompromise',
      revokedAt: NOW.toISOString(),
      by: 'alice',
      source: 'record',
    });
    const text = renderCheck(
      {
        schemaVersion: 1,
        ok: false,
        generatedAt: '',
        summary: { passed: 0, warnings: 0, errors: 1 },
        cluster: [],
        namespace: { name: 'shop', mode: 'enabled', checks: [], pods: [report] },
      },
      true,
    );
    expect(text).toContain('REVOKED (keyCompromise) at');
  });

  it('a certificate the Secret’s own ca.crl lists is an error too, even without the record', () => {
    const { report, revocationCheck } = judge(pod, withCrl(secret, [serial]), undefined);
    expect(revocationCheck?.reason).toBe('certificate_revoked');
    expect(report.certificate?.revoked).toMatchObject({ source: 'crl', by: null });
  });

  it('a current ca.crl that lists every recorded revocation passes and reports its nextUpdate', () => {
    const other = workloadSecret(ca, injectedPod('web-1'));
    const { report, revocationCheck, crl } = judge(pod, withCrl(secret, [leafOf(other).serialHex]), [
      revocation(other),
    ]);
    expect(revocationCheck?.reason).toBe('not_revoked');
    expect(crl).toMatchObject({ ok: true, reason: 'crl_current' });
    expect(crl?.message).toMatch(/CRL number 5, 1 revoked, next update 2026-11-24T12:00:00\.000Z \(in 1d\)/);
    expect(report.certificate?.crl).toEqual({
      crlNumber: '5',
      thisUpdate: NOW.toISOString(),
      nextUpdate: '2026-11-24T12:00:00.000Z',
      entries: 1,
    });
  });

  it('a ca.crl that lacks a recorded revocation of its issuer is stale', () => {
    const other = workloadSecret(ca, injectedPod('web-1'));
    const { crl } = judge(pod, withCrl(secret, []), [revocation(other)]);
    expect(crl).toMatchObject({ severity: 'warning', reason: 'crl_stale' });
    expect(crl?.message).toContain(
      `lacks 1 revocation(s) the record holds (serial ${leafOf(other).serialHex})`,
    );
  });

  it('a revocation by another CA does not make this CRL stale', () => {
    const other = workloadSecret(ca, injectedPod('web-1'));
    const { crl } = judge(pod, withCrl(secret, []), [revocation(other, { issuer: 'ffee' })]);
    expect(crl?.reason).toBe('crl_current');
  });

  it('an expired ca.crl is an error; one near its nextUpdate a warning', () => {
    const expired = judge(pod, withCrl(secret, [], new Date(NOW.getTime() - 3 * HOUR), 2), []);
    expect(expired.crl).toMatchObject({ severity: 'error', reason: 'crl_expired' });
    const late = judge(pod, withCrl(secret, [], new Date(NOW.getTime() - 20 * HOUR), 24), []);
    expect(late.crl).toMatchObject({ severity: 'warning', reason: 'crl_refresh_overdue' });
  });
});

describe('check: the revocation record', () => {
  it('passes with no record, and counts the live entries of one', async () => {
    const configMaps = new FakeConfigMapApi();
    const none = await readRevocationLookup(configMaps, 'mtls-injector');
    expect(checkRevocationRecord(none, 'mtls-injector', NOW)).toMatchObject({
      ok: true,
      reason: 'no_revocations',
    });
    const secret = workloadSecret(ca, injectedPod('web-0'));
    configMaps.put(
      revocationConfigMap(
        'mtls-injector',
        [revocation(secret), revocation(secret, { serial: '01', notAfter: '2026-11-01T00:00:00Z' })],
        undefined,
      ),
    );
    const some = await readRevocationLookup(configMaps, 'mtls-injector');
    expect(checkRevocationRecord(some, 'mtls-injector', NOW)).toMatchObject({
      ok: true,
      reason: 'revocations_recorded',
      message: expect.stringMatching(/^1 revoked certificate\(s\) still within their validity/) as unknown,
    });
  });

  it('reports an unreadable record as an error and a forbidden read as a warning', async () => {
    const configMaps = new FakeConfigMapApi();
    configMaps.put({
      metadata: { name: REVOCATIONS_CONFIGMAP, namespace: 'mtls-injector' },
      data: { [REVOCATIONS_KEY]: '{' },
    });
    const broken = checkRevocationRecord(
      await readRevocationLookup(configMaps, 'mtls-injector'),
      'mtls-injector',
      NOW,
    );
    expect(broken).toMatchObject({ severity: 'error', reason: 'revocations_unreadable' });
    configMaps.get = () => Promise.reject(apiError(403, 'configmaps is forbidden'));
    const forbidden = checkRevocationRecord(
      await readRevocationLookup(configMaps, 'mtls-injector'),
      'mtls-injector',
      NOW,
    );
    expect(forbidden).toMatchObject({ severity: 'warning', reason: 'forbidden' });
  });
});
