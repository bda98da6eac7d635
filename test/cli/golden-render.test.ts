/**
 * The golden cases through `mtls-injector inject --render -f -`, the CLI's door to the same decide(): the
 * YAML it writes must parse to pod.json, the exit code must say whether the webhook would deny, and the notes
 * must carry the reason, message and warnings. render previews a pod being created in a namespace opted in
 * with mtls-injection=enabled, never failing open; it fills in what the API server would (a missing
 * serviceAccountName) and gives pods without a name a preview generateName. Cases asking for anything else
 * cannot go through this door, and say why.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type GoldenCase, goldenCases } from '../core/goldens.js';
import { run } from './run.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Why a case cannot go through `inject --render`, or undefined when it can. */
function notRenderable(c: GoldenCase): string | undefined {
  const { decideInput: input } = c;
  if (input.mode !== 'enabled') return 'render previews /mutate, not /mutate/strict';
  if (input.operation !== 'CREATE') return 'render previews a CREATE';
  if (input.settings.failOpen) return 'render never fails open';
  if ((input.delivery ?? 'unset') !== 'unset') return 'render previews a namespace without a delivery label';
  if (input.settings.delivery.facts !== undefined) return 'render has no rotator facts (auto gives Secrets)';
  if (input.settings.delivery.mode !== 'auto') return 'render previews the default delivery.mode';
  const pod = c.input;
  if (!isObject(pod) || pod['kind'] !== 'Pod') return 'not a Pod object in YAML';
  const meta = pod['metadata'];
  const spec = pod['spec'];
  if (!isObject(meta) || typeof meta['name'] !== 'string' || meta['name'] === '')
    return 'render gives a pod without a name a preview generateName';
  if (!isObject(spec) || typeof spec['serviceAccountName'] !== 'string' || spec['serviceAccountName'] === '')
    return 'render fills in the serviceAccountName the API server defaults';
  const own = meta['namespace'];
  if (typeof own === 'string' && own !== '' && own !== input.namespace)
    return "render takes the pod's own namespace, the request names another";
  return undefined;
}

/** The flags that give `inject` the settings of a case. */
function flags(c: GoldenCase): string[] {
  const { settings } = c.decideInput;
  return [
    '--trust-domain',
    settings.trustDomain,
    '--init-image',
    settings.initImage,
    '--init-image-pull-policy',
    settings.initImagePullPolicy,
    '--init-wait-timeout',
    String(settings.initWaitTimeoutSeconds),
    ...(settings.windowsInitImage === '' ? [] : ['--init-windows-image', settings.windowsInitImage]),
    ...(settings.initEnabled ? [] : ['--init-enabled', 'false']),
  ];
}

const cases = goldenCases();
const renderable = cases.filter((c) => notRenderable(c) === undefined);

describe('golden cases through `inject --render`', () => {
  it('runs most cases, and every kind of outcome', () => {
    expect(renderable.length).toBeGreaterThanOrEqual(30);
    const kinds = new Set(renderable.map((c) => c.decision?.kind));
    expect([...kinds].sort()).toEqual(['deny', 'inject', 'skip']);
  });

  for (const golden of renderable) {
    it(golden.name, async () => {
      const { decision } = golden;
      if (decision === undefined) throw new Error(`${golden.name}: decision.json missing`);
      const result = await run(
        ['inject', '--render', '-f', '-', '-n', golden.decideInput.namespace, ...flags(golden)],
        {},
        JSON.stringify(golden.input),
      );
      expect(parse(result.stdout)).toEqual(golden.pod);
      expect(result.code, result.stderr).toBe(decision.kind === 'deny' ? 1 : 0);
      const notes = result.stderr.split('\n').filter((l) => l !== '');
      const name = (golden.input as { metadata: { name: string } }).metadata.name;
      const first =
        decision.kind === 'inject'
          ? (expect.stringMatching(new RegExp(`^Pod/${name}: rendered with Secret `)) as unknown)
          : decision.kind === 'skip'
            ? `Pod/${name}: not injected (${decision.reason}): ${decision.message}`
            : `Pod/${name}: the webhook would DENY it (${decision.reason}): ${decision.message}`;
      expect(notes).toEqual([first, ...decision.warnings.map((w) => `Pod/${name}: warning: ${w}`)]);
    });
  }

  it('names why each other case cannot be rendered', () => {
    const skipped = cases
      .filter((c) => notRenderable(c) !== undefined)
      .map((c) => `${c.name}: ${notRenderable(c) ?? ''}`);
    expect(skipped.length + renderable.length).toBe(cases.length);
    for (const line of skipped) expect(line).toMatch(/: render|: not a Pod/);
  });
});
