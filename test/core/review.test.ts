import { describe, expect, it } from 'vitest';
import { admit } from '../../src/core/admit.js';
import {
  allowResponse,
  denyResponse,
  parseAdmissionReview,
  patchResponse,
  sanitizeWarning,
} from '../../src/core/review.js';
import { EXCLUDED, podReview, SETTINGS, simplePod, SUFFIX } from './helpers.js';

const OPTIONS = {
  mode: 'enabled',
  settings: SETTINGS,
  excludedNamespaces: EXCLUDED,
  secretSuffix: SUFFIX,
} as const;

describe('parseAdmissionReview', () => {
  it('accepts v1 and v1beta1 and keeps the raw object by reference', () => {
    const pod = simplePod();
    for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const) {
      const parsed = parseAdmissionReview(podReview(pod, { apiVersion }));
      expect(parsed.ok).toBe(true);
      if (parsed.ok) expect(parsed.review.request.object).toBe(pod);
    }
  });

  it.each([
    ['A8 unknown version', { ...podReview(simplePod()), apiVersion: 'admission.k8s.io/v2' }, 'apiVersion'],
    ['A9 wrong kind', { ...podReview(simplePod()), kind: 'ConfigMap' }, 'kind'],
    ['A10 no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request'],
    ['A11 no uid', podReview(simplePod(), { uid: undefined as never }), 'request.uid'],
    ['A11 empty uid', podReview(simplePod(), { uid: '' }), 'request.uid'],
    ['A16 null object on CREATE', podReview(null), 'request.object'],
    ['A16 array object on CREATE', podReview([]), 'request.object'],
    ['not an object', 'AdmissionReview', '(root)'],
  ])('refuses %s, naming the field', (_case, body, field) => {
    const parsed = parseAdmissionReview(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(field);
  });

  it('accepts a DELETE without object', () => {
    expect(parseAdmissionReview(podReview(null, { operation: 'DELETE' })).ok).toBe(true);
  });
});

describe('response helpers', () => {
  const review = podReview(simplePod());

  it('echo the uid and answer in the version asked (A8, A12)', () => {
    const beta = podReview(simplePod(), { apiVersion: 'admission.k8s.io/v1beta1', uid: 'u-1' });
    for (const r of [allowResponse(beta), patchResponse(beta, []), denyResponse(beta, 'no')]) {
      expect(r.apiVersion).toBe('admission.k8s.io/v1beta1');
      expect(r.response.uid).toBe('u-1');
    }
  });

  it('set patch and patchType together, and never for an empty patch (A13)', () => {
    expect(patchResponse(review, []).response).toEqual({ uid: review.request.uid, allowed: true });
    const r = patchResponse(review, [{ op: 'add', path: '/metadata/labels', value: { a: 'é' } }]);
    expect(r.response.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(r.response.patch ?? '', 'base64').toString('utf8'))).toEqual([
      { op: 'add', path: '/metadata/labels', value: { a: 'é' } },
    ]);
  });

  it('deny with a 403 status and the message', () => {
    expect(denyResponse(review, 'rename it').response).toEqual({
      uid: review.request.uid,
      allowed: false,
      status: { code: 403, message: 'rename it' },
    });
  });

  it('strip control characters from warnings', () => {
    expect(sanitizeWarning('a\nb\u001b[31m')).toBe('a b [31m');
  });
});

describe('admit', () => {
  it('allows anything that is not a core/v1 pod untouched (A14)', () => {
    const { decision, response } = admit(
      podReview(
        { kind: 'Deployment' },
        { resource: { group: 'apps', version: 'v1', resource: 'deployments' } },
      ),
      OPTIONS,
    );
    expect(decision.reason).toBe('not_a_pod');
    expect(response.response.patch).toBeUndefined();
  });

  it('allows subresource requests untouched (A15)', () => {
    const { decision } = admit(podReview(simplePod(), { subResource: 'status' }), OPTIONS);
    expect(decision.reason).toBe('subresource');
  });

  it('gives the same patch under a dry run and under a new uid (B3, B5)', () => {
    const a = admit(podReview(simplePod(), { uid: 'one' }), OPTIONS);
    const b = admit(podReview(simplePod(), { uid: 'two', dryRun: true }), OPTIONS);
    expect(a.response.response.patch).toBeDefined();
    expect(b.response.response.patch).toBe(a.response.response.patch);
  });

  it('denies with the reason code in the message', () => {
    const pod = simplePod();
    (pod['spec'] as { serviceAccountName: string }).serviceAccountName = 'b/admin';
    const { response } = admit(podReview(pod), OPTIONS);
    expect(response.response.allowed).toBe(false);
    expect(response.response.status?.message).toMatch(
      /invalid_service_account.*invalid service account name for a SPIFFE ID/,
    );
  });
});
