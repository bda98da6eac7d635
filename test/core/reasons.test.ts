import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REASON_CODES, REASONS } from '../../src/core/reasons.js';

describe('reason codes', () => {
  it('are snake_case and each documented once in docs/reasons.md, with nothing documented that does not exist', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'reasons.md'), 'utf8');
    const documented = [...doc.matchAll(/^### `([a-z_]+)`$/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...REASON_CODES].sort());
    for (const code of REASON_CODES) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it('give undecidable cases both a deny and a skip outcome', () => {
    expect(REASONS.malformed_pod.outcomes).toEqual(['deny', 'skip']);
    expect(REASONS.invalid_inject_annotation.outcomes).toEqual(['deny', 'skip']);
  });
});
