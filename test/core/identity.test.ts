import { describe, expect, it } from 'vitest';
import { ErrorCode, InjectorError } from '../../src/core/errors.js';
import { parseSpiffeId, workloadIdentity } from '../../src/core/identity.js';

function refusal(fn: () => unknown): InjectorError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InjectorError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('workloadIdentity', () => {
  it('builds spiffe://<td>/ns/<ns>/sa/<sa>', () => {
    expect(workloadIdentity('cluster.local', 'shop', 'web').spiffeId).toBe(
      'spiffe://cluster.local/ns/shop/sa/web',
    );
  });

  it('accepts names at their length limits', () => {
    const ns = 'n'.repeat(63);
    const sa = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(sa).toHaveLength(253);
    expect(workloadIdentity('cluster.local', ns, sa).spiffeId).toBe(
      `spiffe://cluster.local/ns/${ns}/sa/${sa}`,
    );
  });

  it.each([
    ['namespace', 'n'.repeat(64), 'default', 'namespace is 64 characters; expected at most 63'],
    ['namespace', 'Shop', 'default', 'namespace "Shop" is not a DNS-1123 label'],
    ['namespace', 'a.b', 'default', 'namespace "a.b" is not a DNS-1123 label'],
    ['namespace', '', 'default', 'namespace is empty'],
    ['serviceAccount', 'shop', 'a'.repeat(254), 'serviceAccount is 254 characters; expected at most 253'],
    ['serviceAccount', 'shop', 'b/admin', 'serviceAccount "b/admin" is not a DNS-1123 subdomain'],
    ['serviceAccount', 'shop', 'system:serviceaccount:b:admin', 'is not a DNS-1123 subdomain'],
    ['serviceAccount', 'shop', 'web\nx', 'is not a DNS-1123 subdomain'],
    ['serviceAccount', 'shop', '', 'serviceAccount is empty'],
  ])('refuses a bad %s (%j, %j)', (_field, ns, sa, expected) => {
    const err = refusal(() => workloadIdentity('cluster.local', ns, sa));
    expect(err.code).toBe(ErrorCode.InvalidName);
    expect(err.message).toContain(expected);
  });

  it('refuses a bad trust domain', () => {
    expect(refusal(() => workloadIdentity('Cluster Local', 'a', 'b')).message).toContain('trustDomain');
  });
});

describe('parseSpiffeId', () => {
  it('round-trips a workload ID', () => {
    expect(parseSpiffeId('spiffe://cluster.local/ns/shop/sa/web')).toEqual(
      workloadIdentity('cluster.local', 'shop', 'web'),
    );
  });

  it.each([
    'spiffe://cluster.local/ns/shop',
    'https://cluster.local/ns/a/sa/b',
    'spiffe://cluster.local/ns/A/sa/b',
    'spiffe://x/ns/a/sa/b/c',
  ])('rejects %s', (uri) => expect(parseSpiffeId(uri)).toBeUndefined());
});
