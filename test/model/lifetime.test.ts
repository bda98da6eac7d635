import { describe, expect, it } from 'vitest';
import { isLowOnLife, remainingLifeFraction } from '../../src/model/lifetime.js';

const notBefore = new Date('2026-11-23T00:00:00Z');
const notAfter = new Date('2026-11-24T00:00:00Z');
const HOUR = 3_600_000;
const at = (hours: number): Date => new Date(notBefore.getTime() + hours * HOUR);

describe('remaining lifetime', () => {
  it('tells the share of the lifetime left, clamped to [0, 1]', () => {
    expect(remainingLifeFraction(notBefore, notAfter, at(18))).toBeCloseTo(0.25);
    expect(remainingLifeFraction(notBefore, notAfter, new Date(notAfter.getTime() + HOUR))).toBe(0);
    expect(remainingLifeFraction(notBefore, notAfter, at(-1))).toBe(1);
    expect(remainingLifeFraction(notAfter, notBefore, at(1))).toBe(0);
  });

  it('is low below a quarter of the lifetime, the line the gauge and `check` share', () => {
    expect(isLowOnLife(notBefore, notAfter, at(17.9))).toBe(false);
    expect(isLowOnLife(notBefore, notAfter, at(18.1))).toBe(true);
    expect(isLowOnLife(notAfter, notBefore, at(1))).toBe(true);
  });
});
