import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENERATE_NAME_ALPHABET, SECRET_NAME_RANDOM_LENGTH } from '../../src/core/names.js';
import { randomSecretSuffix } from '../../src/webhook/suffix.js';
import {
  isDns1123Subdomain,
  isSecretNameOfPod,
  labelValue,
  secretNameForGenerateName,
  secretNameForPodName,
} from '../../src/core/secret-name.js';

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const subdomain = fc
  .array(label, { minLength: 1, maxLength: 6 })
  .map((p) => p.join('.'))
  .filter((s) => s.length <= 253);
const suffix = fc
  .array(fc.constantFrom(...GENERATE_NAME_ALPHABET), { minLength: 10, maxLength: 10 })
  .map((c) => c.join(''));

describe('secret names', () => {
  it('is <name>-mtls for ordinary names', () => {
    expect(secretNameForPodName('web-0')).toBe('web-0-mtls');
    expect(secretNameForGenerateName('web-7d9f-', 'x7k2pmq4wz')).toBe('web-7d9f-x7k2pmq4wz-mtls');
  });

  it('is always a DNS-1123 subdomain of at most 253 characters (C17)', () => {
    fc.assert(
      fc.property(subdomain, suffix, (name, s) => {
        for (const secret of [secretNameForPodName(name), secretNameForGenerateName(`${name}-`, s)]) {
          expect(isDns1123Subdomain(secret), secret).toBe(true);
          expect(secret.length).toBeLessThanOrEqual(253);
          expect(secret.endsWith('-mtls')).toBe(true);
        }
      }),
    );
    const longest = 'a'.repeat(252) + 'b';
    expect(secretNameForPodName(longest)).toHaveLength(253);
    expect(secretNameForGenerateName('g'.repeat(253), 'bcdfgbcdfg')).toHaveLength(253);
  });

  it('gives two long names that share a prefix different Secrets', () => {
    const a = `${'x'.repeat(250)}-a1`;
    const b = `${'x'.repeat(250)}-b1`;
    expect(secretNameForPodName(a)).not.toBe(secretNameForPodName(b));
  });

  it('refuses a suffix outside the Kubernetes name alphabet (programming error)', () => {
    expect(() => secretNameForGenerateName('web-', 'aeiou')).toThrow(RangeError);
    expect(() => secretNameForGenerateName('web-', 'bcd')).toThrow(RangeError);
    // the five characters of earlier releases are read (isSecretNameOfPod), never made
    expect(() => secretNameForGenerateName('web-', 'bcdfg')).toThrow(RangeError);
  });

  it('draws enough randomness that 1,000 pods of one generateName practically never share a Secret (issue: 3 % with 5)', () => {
    const suffixes = Array.from({ length: 1000 }, randomSecretSuffix);
    for (const s of suffixes) {
      expect(s).toHaveLength(SECRET_NAME_RANDOM_LENGTH);
      expect(() => secretNameForGenerateName('web-7d9f-', s)).not.toThrow();
    }
    // Birthday bound: P(any two of n share one of N names) ≈ n²/2N. With 27^5 names and n = 1000 that is
    // about 3 %; the webhook's suffix must bring it under one in a million.
    const names = GENERATE_NAME_ALPHABET.length ** SECRET_NAME_RANDOM_LENGTH;
    const n = 1000;
    expect((n * n) / (2 * names)).toBeLessThan(1e-6);
    expect(new Set(suffixes).size).toBe(1000);
  });

  it('recognises the name a pod already records, and nothing else', () => {
    const meta = { generateName: 'web-7d9f-' };
    expect(isSecretNameOfPod('web-7d9f-x7k2pmq4wz-mtls', meta)).toBe(true);
    // a stored pod: its generated name is now known, the recorded Secret still matches the generateName form
    expect(isSecretNameOfPod('web-7d9f-x7k2pmq4wz-mtls', { name: 'web-7d9f-qwrtz', ...meta })).toBe(true);
    // a name recorded by an earlier release (5 characters) is still recognised on reinvocation
    expect(isSecretNameOfPod('web-7d9f-x7k2p-mtls', meta)).toBe(true);
    expect(isSecretNameOfPod('web-7d9f-aaaaa-mtls', meta)).toBe(false);
    expect(isSecretNameOfPod('web-7d9f-aaaaaaaaaa-mtls', meta)).toBe(false);
    expect(isSecretNameOfPod('other-mtls', meta)).toBe(false);
    expect(isSecretNameOfPod('web-mtls', { name: 'web' })).toBe(true);
    expect(isSecretNameOfPod('admin-token', { name: 'web' })).toBe(false);
  });

  it('makes label values of at most 63 characters, hashing longer text (C17)', () => {
    expect(labelValue('web-0')).toBe('web-0');
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const value = labelValue(text);
        expect(value.length).toBeLessThanOrEqual(63);
        expect(value).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
      }),
    );
    expect(labelValue('p'.repeat(253))).not.toBe(labelValue(`${'p'.repeat(252)}q`));
  });
});
