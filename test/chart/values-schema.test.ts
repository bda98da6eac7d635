import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { CHART_DIR, describeWithHelm, helm, RELEASE } from './helm.js';

interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  $ref?: string;
  allOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  definitions?: Record<string, SchemaNode>;
  description?: string;
}

const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;
const valuesDoc = parseDocument(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
/** Maps whose keys are data (label names, resource names) rather than settings; their values are typed. */
const OPEN_MAPS = new Set(['stringMap', 'quantities']);
/** Kubernetes objects passed through whole; their inside is validated by the API server. */
const PASS_THROUGH = new Set([
  'affinity.nodeAffinity',
  'affinity.podAffinity',
  'affinity.podAntiAffinity',
  'global',
]);

function template(args: readonly string[]): { status: number; stderr: string } {
  return helm(['template', RELEASE, CHART_DIR, ...args]);
}

/** Every object node of the schema with its path, for the strictness walk. */
function objectNodes(
  node: SchemaNode,
  path: string,
  out: [string, SchemaNode][] = [],
): [string, SchemaNode][] {
  if (node.type === 'object' || node.properties) out.push([path, node]);
  for (const [k, child] of Object.entries(node.properties ?? {})) objectNodes(child, `${path}.${k}`, out);
  if (node.items) objectNodes(node.items, `${path}[]`, out);
  for (const sub of [...(node.allOf ?? []), ...(node.anyOf ?? []), ...(node.oneOf ?? [])])
    objectNodes(sub, path, out);
  return out;
}

/** Leaf settings of values.yaml (a `resources` block counts as one) with the comment that documents them. */
function leaves(map: YAMLMap, prefix = '', out: [string, string][] = []): [string, string][] {
  map.items.forEach((pair, index) => {
    const key = `${prefix}${isScalar(pair.key) ? String(pair.key.value) : '?'}`;
    const value = pair.value;
    const comment =
      (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? (index === 0 ? map.commentBefore : '');
    if (isMap(value) && !value.flow && value.items.length > 0 && !key.endsWith('resources')) {
      leaves(value, `${key}.`, out);
    } else {
      out.push([key, comment ?? '']);
    }
  });
  return out;
}

describeWithHelm('chart values and schema', () => {
  it('closes every object in values.schema.json (additionalProperties: false), except typed maps', () => {
    const defs = Object.entries(schema.definitions ?? {});
    const nodes = [
      ...objectNodes(schema, 'values'),
      ...defs.flatMap(([name, node]) => objectNodes(node, `definitions.${name}`)),
    ];
    expect(nodes.length).toBeGreaterThan(20);
    for (const [path, node] of nodes) {
      const name = path.replace(/^definitions\./, '');
      if (OPEN_MAPS.has(name)) {
        expect(typeof node.additionalProperties, path).toBe('object');
      } else if (![...PASS_THROUGH].some((p) => path.endsWith(p))) {
        expect(node.additionalProperties, path).toBe(false);
      }
    }
  });

  it.each([
    ['bogus=1', 'Additional property bogus is not allowed'],
    ['webhook.bogus=1', 'Additional property bogus is not allowed'],
    ['rotator.podDisruptionBudget.bogus=1', 'Additional property bogus is not allowed'],
    ['networkPolicy.apiServer.bogus=1', 'Additional property bogus is not allowed'],
    ['webhook.failurePolicy=Sometimes', 'webhook.failurePolicy'],
    ['keyAlgorithm=dsa', 'keyAlgorithm'],
    ['leafLifetime=1y', 'leafLifetime'],
    ['webhook.port=0', 'webhook.port'],
    ['webhook.timeoutSeconds=31', 'webhook.timeoutSeconds'],
    ['renewAt=0.95', 'renewAt must be from 0.1 to 0.9'],
    ['renewAt=0.9', 'must stay inside (0, 1)'],
    ['webhook.probePort=10250', 'webhook.probePort must differ'],
    ['webhook.configurationName=Not_A_Name', 'webhook.configurationName'],
    ['prometheusRule.admissionErrorRatio=2', 'prometheusRule.admissionErrorRatio'],
    ['prometheusRule.admissionErrorRatio=1.5', 'prometheusRule.admissionErrorRatio must be from 0.001 to 1'],
    ['prometheusRule.admissionLatencySeconds=0.0001', 'prometheusRule.admissionLatencySeconds must be from'],
    [
      'prometheusRule.caExpiryCriticalDays=90',
      'caExpiryCriticalDays (90) must not exceed caExpiryWarningDays (60)',
    ],
    ['prometheusRule.runbookBaseUrl=ftp://example/', 'prometheusRule.runbookBaseUrl'],
    ['grafanaDashboard.namespace=Not_A_Namespace', 'grafanaDashboard.namespace'],
  ])('rejects --set %s', (set, message) => {
    const r = template(['--set', set]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  it('accepts numbers given as --set strings where helm cannot type them', () => {
    expect(
      template([
        '--set', 'renewAt=0.4',
        '--set', 'rotator.writeQps=7.5',
        '--set', 'leafLifetime=3600',
        '--set', 'prometheusRule.admissionErrorRatio=0.2',
        '--set', 'prometheusRule.admissionLatencySeconds=0.25',
      ]).status, // prettier-ignore
    ).toBe(0);
  });

  it('documents every value in values.yaml, and schema and values.yaml name the same settings', () => {
    const contents = valuesDoc.contents;
    if (!isMap(contents)) throw new Error('values.yaml: expected a mapping at the top');
    const documented = leaves(contents);
    for (const [key, comment] of documented)
      expect(comment, `values.yaml: ${key} needs a "# -- " comment`).toMatch(/-- \S/);
    const schemaLeaves: string[] = [];
    const walk = (node: SchemaNode, prefix: string): void => {
      for (const [k, child] of Object.entries(node.properties ?? {})) {
        const resolved = child.$ref ? schema.definitions?.[child.$ref.replace('#/definitions/', '')] : child;
        const ref = child.allOf?.[0]?.$ref;
        const target = ref ? schema.definitions?.[ref.replace('#/definitions/', '')] : resolved;
        if (
          target?.properties &&
          target.additionalProperties === false &&
          !k.endsWith('resources') &&
          k !== 'affinity'
        )
          walk(target, `${prefix}${k}.`);
        else if (k !== 'global') schemaLeaves.push(`${prefix}${k}`);
      }
    };
    walk(schema, '');
    expect(documented.map(([k]) => k).sort()).toEqual(schemaLeaves.sort());
  });
});
