/** A clock tests move by hand; `sleep` advances it instead of waiting. */
export class FakeClock {
  constructor(public now = Date.parse('2026-11-23T00:00:00Z')) {}
  readonly read = (): number => this.now;
  readonly sleep = (ms: number): Promise<void> => {
    this.now += ms;
    return Promise.resolve();
  };
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A seeded pseudo-random source (mulberry32) so jitter is reproducible. */
export function seededRandom(seed = 42): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
