import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { admit } from '../../src/core/admit.js';
import { REASONS, type Reason } from '../../src/core/reasons.js';
import { decideInputFor, type RequestOverrides } from './goldens.js';
import { EXCLUDED, podReview, SETTINGS, simplePod, SUFFIX } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CODES = Object.keys(REASONS) as Reason[];
const DOC = readFileSync(join(ROOT, 'docs', 'reasons.md'), 'utf8');

/** The outcomes each section of docs/reasons.md stands for. */
const SECTIONS: Record<string, readonly string[]> = {
  Injected: ['inject'],
  'Allowed without a patch': ['skip'],
  Denied: ['deny'],
  'Undecidable (denied, or allowed with a warning when failing open)': ['deny', 'skip'],
  'HTTP errors (no AdmissionReview answer)': ['error'],
};

/** reason → the outcomes of the section docs/reasons.md documents it under. */
function documentedOutcomes(): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  let section: readonly string[] | undefined;
  for (const line of DOC.split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading !== null) section = SECTIONS[heading[1] ?? ''];
    const code = /^### `([a-z_]+)`$/.exec(line);
    if (code !== null) out.set(code[1] ?? '', section ?? ['(no known section)']);
  }
  return out;
}

/** (reason, outcome) pairs the webhook's decision gives: every golden case, plus a non-pod and a subresource. */
function observedDecisions(): Set<string> {
  const dir = join(ROOT, 'test', 'fixtures', 'inject');
  const seen = new Set<string>();
  for (const name of readdirSync(dir)) {
    const read = (file: string): Record<string, unknown> | undefined => {
      try {
        return JSON.parse(readFileSync(join(dir, name, file), 'utf8')) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    };
    const input = read('input.json');
    if (input === undefined) continue;
    const req = (read('request.json') ?? {}) as RequestOverrides;
    const input_ = decideInputFor(input, req);
    const review = podReview(input, { namespace: input_.namespace, operation: input_.operation });
    const { decision } = admit(review, {
      mode: input_.mode,
      ...(input_.delivery === undefined ? {} : { delivery: input_.delivery }),
      settings: input_.settings,
      excludedNamespaces: EXCLUDED,
      secretSuffix: SUFFIX,
    });
    seen.add(`${decision.reason} ${decision.kind}`);
  }
  const other = {
    mode: 'enabled',
    settings: SETTINGS,
    excludedNamespaces: EXCLUDED,
    secretSuffix: SUFFIX,
  } as const;
  const deployment = podReview({}, { resource: { group: 'apps', version: 'v1', resource: 'deployments' } });
  seen.add(`${admit(deployment, other).decision.reason} ${admit(deployment, other).decision.kind}`);
  const status = podReview(simplePod(), { subResource: 'status', operation: 'UPDATE' });
  seen.add(`${admit(status, other).decision.reason} ${admit(status, other).decision.kind}`);
  return seen;
}

describe('reason codes', () => {
  it('are snake_case and each documented once in docs/reasons.md, with nothing documented that does not exist', () => {
    const documented = [...DOC.matchAll(/^### `([a-z_]+)`$/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...CODES].sort());
    for (const code of CODES) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it('are documented under the section of the outcomes the table gives them', () => {
    const documented = documentedOutcomes();
    for (const code of CODES) expect(documented.get(code), code).toEqual(REASONS[code].outcomes);
  });

  it('are given by the webhook with exactly the outcomes the table allows, every one of them reached', () => {
    const observed = observedDecisions();
    const allowed = new Set(
      CODES.flatMap((code) => REASONS[code].outcomes.filter((o) => o !== 'error').map((o) => `${code} ${o}`)),
    );
    expect([...observed].filter((pair) => !allowed.has(pair))).toEqual([]);
    expect([...allowed].filter((pair) => !observed.has(pair))).toEqual([]);
  });
});
