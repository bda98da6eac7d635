import { describe, expect, it } from 'vitest';
import { isoTimestamp } from '../../src/observability/logger.js';

describe('isoTimestamp', () => {
  it('writes what toISOString writes, across seconds, minutes and years', () => {
    let now = 0;
    const stamp = isoTimestamp(() => now);
    const times = [
      Date.UTC(2026, 10, 23, 7, 57, 24, 5),
      Date.UTC(2026, 10, 23, 7, 57, 24, 50),
      Date.UTC(2026, 10, 23, 7, 57, 24, 999),
      Date.UTC(2026, 10, 23, 7, 57, 25, 0),
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(2027, 0, 1, 0, 0, 0, 1),
      Date.UTC(2026, 10, 23, 7, 57, 24, 7),
    ];
    for (const t of times) {
      now = t;
      expect(stamp()).toBe(`,"time":"${new Date(t).toISOString()}"`);
    }
  });
});
