import { describe, expect, it } from 'vitest';
import {
  hasPollutingKeys,
  jsonNestingExceeds,
  MAX_JSON_DEPTH,
  parseGuardedJson,
} from '../../src/core/json-guard.js';

describe('parseGuardedJson', () => {
  it('parses ordinary JSON', () => {
    expect(parseGuardedJson('{"a":[1,{"b":"[[[{"}]}')).toEqual({
      ok: true,
      value: { a: [1, { b: '[[[{' }] },
    });
  });

  it('refuses empty bodies and non-JSON, without echoing the body', () => {
    expect(parseGuardedJson('   ')).toMatchObject({ ok: false, problem: 'empty' });
    const bad = parseGuardedJson('-----BEGIN PRIVATE KEY-----');
    expect(bad).toMatchObject({ ok: false, problem: 'not_json' });
    expect(JSON.stringify(bad)).not.toContain('PRIVATE');
  });

  it('refuses 100k levels of nesting before parsing (A6)', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(parseGuardedJson(deep)).toMatchObject({ ok: false, problem: 'too_deep' });
    const objects = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    expect(parseGuardedJson(objects)).toMatchObject({ ok: false, problem: 'too_deep' });
  });

  it('counts only brackets outside strings, and escaped quotes stay inside them', () => {
    const inString = JSON.stringify({ s: '['.repeat(1000) + '\\"[[' });
    expect(jsonNestingExceeds(inString, 2)).toBe(false);
    expect(jsonNestingExceeds('[[[]]]', 3)).toBe(false);
    expect(jsonNestingExceeds('[[[[]]]]', 3)).toBe(true);
    const atLimit = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect(parseGuardedJson(atLimit).ok).toBe(true);
  });

  it('refuses __proto__ and constructor.prototype keys, also written with \\u escapes (A7)', () => {
    for (const text of [
      '{"__proto__":{"polluted":true}}',
      '{"a":[{"\\u005f_proto__":{}}]}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"a":{"c\\u006fnstructor":{"prototype":1}}}',
    ]) {
      expect(parseGuardedJson(text), text).toMatchObject({ ok: false, problem: 'forbidden_key' });
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('accepts a label called constructor and the word __proto__ in a value', () => {
    expect(parseGuardedJson('{"labels":{"constructor":"x"},"v":"__proto__"}').ok).toBe(true);
    expect(hasPollutingKeys({ constructor: { other: 1 } })).toBe(false);
  });
});
