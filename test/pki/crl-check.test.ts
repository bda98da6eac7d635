import { describe, expect, it } from 'vitest';
import { canonicalSerial, revocationReasonProblem, serialProblem } from '../../src/core/revocation.js';
import { type CertificateAuthority, generateRootCa } from '../../src/pki/ca.js';
import { buildCrl, type CrlEntry } from '../../src/pki/crl.js';
import { leafRevocation } from '../../src/pki/crl-check.js';
import { issueWorkloadIdentity, type IssuedLeaf } from '../../src/pki/issue.js';
import { toPem } from '../../src/pki/pem.js';
import { plus } from './helpers.js';

const NOW = new Date();
const HOUR = 3600;

function rootCa(): CertificateAuthority {
  return generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: 86_400,
    now: NOW,
  });
}

function leaf(ca: CertificateAuthority): IssuedLeaf {
  return issueWorkloadIdentity(
    ca,
    { trustDomain: 'cluster.local', namespace: 'demo', serviceAccount: 'web' },
    { keyAlgorithm: 'ecdsa-p256', lifetimeSeconds: HOUR, backdateSeconds: 60, now: NOW },
  );
}

function crlOf(ca: CertificateAuthority, revoked: readonly IssuedLeaf[], nextUpdate = plus(NOW, HOUR)) {
  const entries: CrlEntry[] = revoked.map((l) => ({
    serialHex: l.serialHex,
    revokedAt: NOW,
    reason: 'keyCompromise',
    notAfter: l.notAfter,
  }));
  return buildCrl(ca, { crlNumber: 3n, thisUpdate: NOW, nextUpdate, entries });
}

describe('leafRevocation', () => {
  const ca = rootCa();
  const revoked = leaf(ca);
  const good = leaf(ca);
  const crl = crlOf(ca, [revoked]);
  const files = (l: IssuedLeaf, crlPem: string | undefined) => ({
    certChainPem: l.certPem,
    trustBundlePem: ca.trustBundlePem,
    crlPem,
    now: NOW,
  });

  it('finds a revoked leaf with its reason, and the CRL facts', () => {
    const { status, problems } = leafRevocation(files(revoked, crl.pem));
    expect(problems).toEqual([]);
    expect(status).toEqual({
      kind: 'revoked',
      serialHex: revoked.serialHex,
      reason: 'keyCompromise',
      revokedAt: crl.thisUpdate,
      crl: { crlNumber: '3', thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, entries: 1 },
      listed: new Set([revoked.serialHex]),
    });
  });

  it('passes a leaf the CRL does not list, and says when there is no CRL', () => {
    expect(leafRevocation(files(good, crl.pem)).status.kind).toBe('not_revoked');
    expect(leafRevocation(files(good, undefined)).status).toEqual({
      kind: 'no_crl',
      serialHex: good.serialHex,
      why: 'no ca.crl',
    });
    expect(leafRevocation(files(good, '\n')).status.kind).toBe('no_crl');
  });

  it('during a CA rotation picks the CRL of the CA that signed the leaf, though both roots share a name', () => {
    const next = rootCa();
    const fromNext = leaf(next);
    const bundle = ca.trustBundlePem + next.trustBundlePem;
    const both = crlOf(ca, [revoked]).pem + crlOf(next, []).pem;
    const newLeaf = leafRevocation({
      certChainPem: fromNext.certPem,
      trustBundlePem: bundle,
      crlPem: both,
      now: NOW,
    });
    expect([newLeaf.status.kind, newLeaf.problems]).toEqual(['not_revoked', []]);
    const oldLeaf = leafRevocation({
      certChainPem: revoked.certPem,
      trustBundlePem: bundle,
      crlPem: both,
      now: NOW,
    });
    expect([oldLeaf.status.kind, oldLeaf.problems]).toEqual(['revoked', []]);
    const nextRevoked = crlOf(ca, []).pem + crlOf(next, [fromNext]).pem;
    expect(
      leafRevocation({
        certChainPem: fromNext.certPem,
        trustBundlePem: bundle,
        crlPem: nextRevoked,
        now: NOW,
      }).status.kind,
    ).toBe('revoked');
  });

  it('ignores, and reports, a CRL with the issuer key identifier whose signature does not verify', () => {
    const tampered = Buffer.from(crl.der);
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 0xff;
    const { status, problems } = leafRevocation(files(revoked, toPem('X509 CRL', tampered)));
    expect(status.kind).toBe('no_crl');
    expect(problems.map((p) => p.code)).toEqual(['crl_signature']);
  });

  it('reports an unreadable ca.crl and an expired CRL, still answering from the expired one', () => {
    const broken = leafRevocation(files(good, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n'));
    expect(broken.problems.map((p) => p.code)).toEqual(['bad_crl']);
    expect(broken.problems[0]?.message).toMatch(/ca\.crl: CRL 1: not a usable X\.509 CRL/);
    const later = plus(NOW, 2 * HOUR); // past the CRL's nextUpdate
    const expired = leafRevocation({ ...files(revoked, crl.pem), now: later });
    expect(expired.status.kind).toBe('revoked');
    expect(expired.problems.map((p) => p.code)).toEqual(['crl_expired']);
    expect(expired.problems[0]?.message).toMatch(/refuse every certificate of this CA/);
  });

  it('uses the newest CRL when ca.crl holds two of the same CA', () => {
    const older = buildCrl(ca, { crlNumber: 1n, thisUpdate: NOW, nextUpdate: plus(NOW, HOUR), entries: [] });
    const { status } = leafRevocation(files(revoked, older.pem + crl.pem));
    expect(status.kind).toBe('revoked');
    const { status: reversed } = leafRevocation(files(revoked, crl.pem + older.pem));
    expect(reversed.kind).toBe('revoked');
  });
});

describe('serials and reasons', () => {
  it.each([
    ['7A:3F:09', '7a3f09'],
    ['0x00ff', 'ff'],
    ['F', '0f'],
    ['000102', '0102'],
  ])('%s is spelled %s', (input, canonical) => {
    expect(serialProblem(input)).toBeUndefined();
    expect(canonicalSerial(input)).toBe(canonical);
  });

  it.each([
    ['', /not a hexadecimal number/],
    ['xyz', /not a hexadecimal number/],
    ['7a::3f', /not a hexadecimal number/],
    ['0', /is zero/],
    ['ff'.repeat(20), /21 octets long; RFC 5280 allows at most 20/],
  ])('refuses %j', (input, message) => {
    expect(serialProblem(input)).toMatch(message);
  });

  it('refuses reasons this product never writes, saying what to do instead', () => {
    expect(revocationReasonProblem('keyCompromise')).toBeUndefined();
    expect(revocationReasonProblem('cACompromise')).toMatch(/ca rotate prepare/);
    expect(revocationReasonProblem('certificateHold')).toMatch(/permanent/);
    expect(revocationReasonProblem('compromised')).toMatch(/expected one of unspecified, keyCompromise/);
  });
});
