import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { buildPatch, jsonDiff } from '../../src/core/mutate/patch.js';

const json = fc.jsonValue({ maxDepth: 4 });
const objectPair = fc
  .tuple(fc.dictionary(fc.string({ maxLength: 6 }), json), fc.dictionary(fc.string({ maxLength: 6 }), json))
  .map(([a, b]) => [a, { ...a, ...b }] as const);

describe('jsonDiff', () => {
  it('produces exactly what fast-json-patch compare() produces, for unrelated and for overlapping objects', () => {
    fc.assert(
      fc.property(fc.oneof(objectPair, fc.tuple(fc.object(), fc.object())), ([a, b]) => {
        expect(JSON.stringify(jsonDiff(a, b))).toBe(JSON.stringify(jsonpatch.compare(a, b)));
      }),
      { numRuns: 3000 },
    );
  });

  it('handles arrays that grow, shrink and change type, and escapes pointers', () => {
    const a = { list: [1, 2, 3], 'a/b~c': { x: 1 }, gone: true, becomes: [1] };
    const b = { list: [1, 5], 'a/b~c': { x: 2, y: [] }, becomes: { 0: 1 } };
    expect(jsonDiff(a, b)).toEqual(jsonpatch.compare(a, b));
    expect(jsonDiff(b, a)).toEqual(jsonpatch.compare(b, a));
  });
});

describe('buildPatch', () => {
  it('replaces a named list whole when an item was inserted in front', () => {
    const before = { spec: { initContainers: [{ name: 'a' }, { name: 'b' }] } };
    const after = { spec: { initContainers: [{ name: 'mtls-init' }, { name: 'a' }, { name: 'b' }] } };
    expect(buildPatch(before, after)).toEqual([
      { op: 'replace', path: '/spec/initContainers', value: after.spec.initContainers },
    ]);
  });
});
