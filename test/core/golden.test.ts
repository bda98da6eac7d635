/**
 * Golden injection cases, discovered from test/fixtures/inject/<case>/:
 *   input.json     the pod as the API server sends it (required, hand-written)
 *   request.json   optional overrides: namespace, mode, operation, failOpen, secretSuffix, settings
 *   decision.json  golden: kind, reason, message, warnings (and failedOpen for a skip)
 *   patch.json     golden: the JSONPatch
 *   pod.json       golden: input.json with the patch applied
 * Each case checks the decision, the patch, the patched pod (applied with rfc6902, an implementation
 * independent of the one that built the patch), that injecting the result again gives an empty patch, and
 * that admit() answers the same. The same cases also run over HTTPS through the webhook
 * (test/webhook/golden-http.test.ts) and through `inject --render` (test/cli/golden-render.test.ts).
 * Stale or orphaned files fail the run. `UPDATE_GOLDENS=1 npx vitest run test/core` rewrites the goldens.
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyPatch, type Operation } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { admit } from '../../src/core/admit.js';
import { patchJson } from '../../src/core/mutate/json-text.js';
import { decide } from '../../src/core/policy/decide.js';
import { encodeAdmissionResponse } from '../../src/core/review.js';
import { podReview } from './helpers.js';
import { decideInputFor, GOLDEN_ROOT as ROOT, goldenCaseNames, goldenCases, readJson } from './goldens.js';

const INPUTS = ['input.json', 'request.json'];
const GOLDENS = ['decision.json', 'patch.json', 'pod.json'];
const UPDATE = process.env['UPDATE_GOLDENS'] === '1';

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

const cases = goldenCaseNames();

/** `input` with `patch` applied (rfc6902, on a copy). */
function applyTo(input: unknown, patch: readonly unknown[]): unknown {
  const copy = structuredClone(input) as object;
  applyPatch(copy, patch as Operation[]);
  return copy;
}

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

  for (const golden of goldenCases()) {
    const { name, dir, input, request } = golden;

    it(name, () => {
      const frozen = JSON.stringify(input);
      const decision = decide(golden.decideInput);
      expect(JSON.stringify(input), 'decide must not mutate its input').toBe(frozen);

      const summary = {
        kind: decision.kind,
        reason: decision.reason,
        message: decision.message,
        warnings: decision.warnings,
        ...(decision.kind === 'skip' ? { failedOpen: decision.failedOpen } : {}),
      };
      const patch = decision.kind === 'deny' ? [] : decision.patch;
      const expectedPod = decision.kind === 'inject' ? decision.pod : applyTo(input, patch);
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

      const again = decide(decideInputFor(goldenPod, request));
      expect(again.kind === 'deny' ? [] : again.patch).toEqual([]);
      if (decision.kind === 'inject') expect(again.reason).toBe('already_injected');

      // The same case through admit(), the webhook's door: the same decision, answered as a review.
      const review = podReview(input, {
        uid: `golden-${name}`,
        namespace: golden.decideInput.namespace,
        operation: golden.decideInput.operation,
      });
      const admitted = admit(review, {
        mode: golden.decideInput.mode,
        ...(golden.decideInput.delivery === undefined ? {} : { delivery: golden.decideInput.delivery }),
        settings: golden.decideInput.settings,
        excludedNamespaces: golden.decideInput.excludedNamespaces,
        secretSuffix: golden.decideInput.secretSuffix,
      });
      expect(admitted.decision).toEqual(decision);
      const answer = JSON.parse(encodeAdmissionResponse(admitted.response)) as {
        response: { uid: string; allowed: boolean; patch?: string };
      };
      expect(answer.response.uid).toBe(`golden-${name}`);
      expect(answer.response.allowed).toBe(decision.kind !== 'deny');
      const answered =
        answer.response.patch === undefined
          ? []
          : (JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8')) as unknown[]);
      expect(answered).toEqual(goldenPatch);
    });
  }
});
