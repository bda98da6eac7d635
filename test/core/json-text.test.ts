import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { patchJson, template } from '../../src/core/mutate/json-text.js';
import type { PatchOperation } from '../../src/core/mutate/patch.js';

describe('template', () => {
  it('freezes the value all the way down, so a pod sharing it cannot change it for the next one', () => {
    const value = template({ name: 'x', list: [{ deep: 1 }] });
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.list[0])).toBe(true);
    expect(() => {
      (value.list[0] as { deep: number }).deep = 2;
    }).toThrow(TypeError);
  });
});

describe('patchJson', () => {
  it('equals JSON.stringify for any JSON value, templates and lists of templates included', () => {
    const shared = template({ name: 'mtls-certs', mountPath: '/var/run/mtls', readOnly: true });
    const add = (value: unknown): PatchOperation[] => [{ op: 'add', path: '/v', value }];
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        expect(patchJson(add(value))).toBe(JSON.stringify(add(value)));
        const list = [shared, value, shared];
        expect(patchJson(add(list))).toBe(JSON.stringify(add(list)));
      }),
      { numRuns: 1000 },
    );
  });

  it('writes every kind of operation as JSON.stringify does', () => {
    const ops: PatchOperation[] = [
      { op: 'add', path: '/a~1b/0', value: template({ k: 'v"\n' }) },
      { op: 'remove', path: '/metadata/labels/x' },
      { op: 'replace', path: '/x', value: null },
      { op: 'move', path: '/to', from: '/from' },
      { op: 'add', path: '/list', value: [1, 'two', { three: 3 }] },
      { op: 'add', path: '/metadata/annotations/quote"back\\slash\u0001tab\t', value: 'x' },
      { op: 'add', path: '/metadata/labels/emoji-😀-lone-\ud800-end', value: 'x' },
    ];
    expect(patchJson(ops)).toBe(JSON.stringify(ops));
    expect(patchJson([])).toBe('[]');
  });
});
