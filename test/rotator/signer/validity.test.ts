/**
 * podCertificateValidity against the rules the API server applies to an Issued PodCertificateRequest
 * (ValidatePodCertificateRequestStatusUpdate in k8s.io/kubernetes v1.37): every input either gives a validity
 * it would accept, or is refused only because the CA leaves no hour.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { podCertificateValidity, type ValidityInput } from '../../../src/rotator/signer/validity.js';

const NOW = Date.parse('2026-11-23T10:00:00.437Z');
const base: ValidityInput = {
  now: NOW,
  backdateSeconds: 60,
  requestedMaxSeconds: 86_400,
  configMaxSeconds: 86_400,
  caNotBefore: Date.parse('2026-01-01T00:00:00Z'),
  caNotAfter: Date.parse('2036-01-01T00:00:00Z'),
  renewAt: 0.5,
  renewJitter: 0.1,
  random: 0.5,
};

function ok(input: Partial<ValidityInput>) {
  const v = podCertificateValidity({ ...base, ...input });
  if (!v.ok) throw new Error(v.message);
  return {
    notBefore: v.notBefore.getTime(),
    notAfter: v.notAfter.getTime(),
    refresh: v.beginRefreshAt.getTime(),
  };
}

describe('podCertificateValidity', () => {
  it('back-dates notBefore, lives the requested 24 h, refreshes at 50 % ± 10 %', () => {
    const v = ok({});
    expect(v.notBefore).toBe(Date.parse('2026-11-23T09:59:00Z'));
    expect(v.notAfter - v.notBefore).toBe(86_400_000);
    expect(v.refresh - v.notBefore).toBe(43_200_000);
    expect(ok({ random: 0 }).refresh - v.notBefore).toBe(0.4 * 86_400_000);
    expect(ok({ random: 0.999999 }).refresh - v.notBefore).toBe(0.6 * 86_400_000);
  });

  it('grants the shorter of the request and podCertificate.maxExpiration', () => {
    expect(ok({ requestedMaxSeconds: 3600 }).notAfter - ok({ requestedMaxSeconds: 3600 }).notBefore).toBe(
      3_600_000,
    );
    const v = ok({ configMaxSeconds: 7200 });
    expect(v.notAfter - v.notBefore).toBe(7_200_000);
  });

  it('clamps the refresh into [notBefore + 10 min, notAfter − 10 min]', () => {
    const early = ok({ requestedMaxSeconds: 3600, renewAt: 0.1, renewJitter: 0 });
    expect(early.refresh - early.notBefore).toBe(600_000);
    const late = ok({ requestedMaxSeconds: 3600, renewAt: 0.9, renewJitter: 0.3, random: 0.99 });
    expect(late.notAfter - late.refresh).toBe(600_000);
  });

  it('back-dates at most 270 s (the API server allows 5 minutes off its clock)', () => {
    expect(NOW - ok({ backdateSeconds: 3600 }).notBefore).toBeLessThanOrEqual(271_000);
  });

  it('cuts notAfter at the CA, and refuses when that leaves less than an hour', () => {
    const caNotAfter = NOW + 2 * 3_600_000;
    expect(ok({ caNotAfter }).notAfter).toBe(Math.floor(caNotAfter / 1000) * 1000);
    const refused = podCertificateValidity({ ...base, caNotAfter: NOW + 30 * 60_000 });
    expect(refused).toMatchObject({ ok: false, reason: 'CAExpiresTooSoon' });
    expect(podCertificateValidity({ ...base, caNotBefore: NOW + 60_000 })).toMatchObject({
      ok: false,
      reason: 'CANotYetValid',
    });
  });

  it('satisfies every rule of the API server for any input it accepts', () => {
    fc.assert(
      fc.property(
        fc.record({
          now: fc.integer({
            min: Date.parse('2026-01-02T00:00:00Z'),
            max: Date.parse('2030-01-01T00:00:00Z'),
          }),
          backdateSeconds: fc.integer({ min: 0, max: 3600 }),
          requestedMaxSeconds: fc.integer({ min: 3600, max: 7_862_400 }),
          configMaxSeconds: fc.integer({ min: 3600, max: 7_862_400 }),
          caLeftSeconds: fc.integer({ min: 0, max: 400 * 86_400 }),
          renewAt: fc.double({ min: 0.1, max: 0.9, noNaN: true }),
          renewJitter: fc.double({ min: 0, max: 0.3, noNaN: true }),
          random: fc.double({ min: 0, max: 0.9999, noNaN: true }),
        }),
        (r) => {
          const input = { ...base, ...r, caNotAfter: r.now + r.caLeftSeconds * 1000 };
          const v = podCertificateValidity(input);
          if (!v.ok) {
            expect(v.reason).toBe('CAExpiresTooSoon');
            expect(r.caLeftSeconds).toBeLessThan(3600 + 271);
            return;
          }
          const nb = v.notBefore.getTime();
          const na = v.notAfter.getTime();
          const br = v.beginRefreshAt.getTime();
          for (const t of [nb, na, br]) expect(t % 1000).toBe(0);
          expect(Math.abs(nb - r.now)).toBeLessThanOrEqual(5 * 60_000);
          expect(na - nb).toBeGreaterThanOrEqual(3_600_000);
          expect(na - nb).toBeLessThanOrEqual(r.requestedMaxSeconds * 1000);
          expect(na).toBeLessThanOrEqual(input.caNotAfter);
          expect(br).toBeGreaterThanOrEqual(nb + 600_000);
          expect(br).toBeLessThanOrEqual(na - 600_000);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
