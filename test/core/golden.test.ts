/**
 * Golden injection cases, discovered from test/fixtures/inject/<case>/:
 *   input.json     the pod as the API server sends it (required, hand-written)
 *   request.json   optional overrides: namespace, mode, operation, failOpen, secretSuffix, settings
 *   decision.json  golden: kind, reason, message, warnings
 *   patch.json     golden: the JSONPatch
 *   pod.json       golden: input.json with the patch applied
 * Each case checks the decision, the patch, the patched pod (applied with rfc6902, an implementation
 * independent of the one that built the patch) and that injecting the result again gives an empty patch.
 * Stale or orphaned files fail the run. `UPDATE_GOLDENS=1 npx vitest run test/core` rewrites the goldens.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyPatch, type Operation } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { patchJson } from '../../src/core/mutate/json-text.js';
import { decide, type DecideInput } from '../../src/core/policy/decide.js';
import type { InjectionSettings } from '../../src/core/policy/settings.js';
import { EXCLUDED, SETTINGS, SUFFIX } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', 'fixtures', 'inject');
const INPUTS = ['input.json', 'request.json'];
const GOLDENS = ['decision.json', 'patch.json', 'pod.json'];
const UPDATE = process.env['UPDATE_GOLDENS'] === '1';

interface RequestOverrides {
  readonly description?: string;
  readonly namespace?: string;
  readonly mode?: DecideInput['mode'];
  readonly operation?: DecideInput['operation'];
  readonly failOpen?: boolean;
  readonly secretSuffix?: string;
  readonly settings?: Partial<InjectionSettings>;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function inputFor(dir: string, pod: unknown): DecideInput {
  const path = join(dir, 'request.json');
  const req = (existsSync(path) ? readJson(path) : {}) as RequestOverrides;
  return {
    pod,
    namespace: req.namespace ?? 'team-a',
    mode: req.mode ?? 'enabled',
    operation: req.operation ?? 'CREATE',
    excludedNamespaces: EXCLUDED,
    settings: { ...SETTINGS, failOpen: req.failOpen ?? false, ...req.settings },
    secretSuffix: req.secretSuffix ?? SUFFIX,
  };
}

const cases = readdirSync(ROOT).sort();

describe('golden fixtures', () => {
  it('has at least 25 cases and no stray files', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    const problems: string[] = [];
    for (const name of cases) {
      const dir = join(ROOT, name);
      if (!statSync(dir).isDirectory()) {
        problems.push(`${name}: a file outside any case folder`);
        continue;
      }
      const files = readdirSync(dir);
      for (const file of files) {
        if (!INPUTS.includes(file) && !GOLDENS.includes(file))
          problems.push(`${name}/${file}: not part of a case`);
      }
      if (!files.includes('input.json')) problems.push(`${name}: input.json missing`);
      if (!UPDATE) {
        for (const golden of GOLDENS) {
          if (!files.includes(golden)) problems.push(`${name}/${golden}: missing; run UPDATE_GOLDENS=1`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  for (const name of cases) {
    const dir = join(ROOT, name);
    if (!statSync(dir).isDirectory() || !existsSync(join(dir, 'input.json'))) continue;

    it(name, () => {
      const input = readJson(join(dir, 'input.json'));
      const frozen = JSON.stringify(input);
      const decision = decide(inputFor(dir, input));
      expect(JSON.stringify(input), 'decide must not mutate its input').toBe(frozen);

      const summary = {
        kind: decision.kind,
        reason: decision.reason,
        message: decision.message,
        warnings: decision.warnings,
      };
      const patch = decision.kind === 'inject' ? decision.patch : [];
      const expectedPod = decision.kind === 'inject' ? decision.pod : input;
      if (UPDATE) {
        writeJson(join(dir, 'decision.json'), summary);
        writeJson(join(dir, 'patch.json'), patch);
        writeJson(join(dir, 'pod.json'), expectedPod);
      }

      expect(summary).toEqual(readJson(join(dir, 'decision.json')));
      const goldenPatch = readJson(join(dir, 'patch.json')) as Operation[];
      expect(patch).toEqual(goldenPatch);
      expect(patchJson(patch), 'the fast patch text is JSON.stringify, byte for byte').toBe(
        JSON.stringify(patch),
      );

      const applied = structuredClone(input) as object;
      const errors = applyPatch(applied, goldenPatch);
      expect(errors.filter((e) => e !== null)).toEqual([]);
      const goldenPod = readJson(join(dir, 'pod.json'));
      expect(applied).toEqual(goldenPod);

      const again = decide(inputFor(dir, goldenPod));
      expect(again.kind === 'inject' ? again.patch : []).toEqual([]);
      if (decision.kind === 'inject') expect(again.reason).toBe('already_injected');
    });
  }
});
