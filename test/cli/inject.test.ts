import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { decide } from '../../src/core/policy/decide.js';
import { EXCLUDED, SETTINGS } from '../core/helpers.js';
import { run as runCli } from './run.js';

const MANIFESTS = `# the shop
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  serviceAccountName: web
  containers:
  - name: app # the app
    image: web:1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
spec:
  selector:
    matchLabels: {app: checkout}
  template:
    metadata:
      labels: {app: checkout}
    spec:
      serviceAccountName: checkout
      containers:
      - name: app
        image: checkout:1
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      containers: [{name: db, image: db:1}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      containers: [{name: agent, image: agent:1}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  template:
    spec:
      containers: [{name: c, image: c:1}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: m:1}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: n, image: n:1}]
---
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: in-list}
  spec:
    template:
      spec:
        containers: [{name: c, image: c:1}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
`;

/** `mtls-injector inject ARGS` in-process, through the real program (test/cli/run.ts). */
async function run(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const result = await runCli(['inject', ...args], {}, stdin);
  return { code: result.code, out: result.stdout, err: result.stderr };
}

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'inject-')), 'in.yaml');
  writeFileSync(path, text);
  return path;
}

const LABEL_PATHS: Record<string, string[]> = {
  Pod: ['metadata'],
  Deployment: ['spec', 'template', 'metadata'],
  StatefulSet: ['spec', 'template', 'metadata'],
  DaemonSet: ['spec', 'template', 'metadata'],
  ReplicaSet: ['spec', 'template', 'metadata'],
  Job: ['spec', 'template', 'metadata'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'metadata'],
};

function at(obj: unknown, path: string[]): Record<string, unknown> {
  return path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], obj) as Record<
    string,
    unknown
  >;
}

describe('mtls-injector inject', () => {
  it('adds the opt-in label to every pod template, keeps everything else, and notes unknown kinds', async () => {
    const { code, out, err } = await run(['-f', file(MANIFESTS)]);
    expect(code).toBe(0);
    const docs = parseAllDocuments(out).map((d) => d.toJS() as Record<string, unknown>);
    const before = parseAllDocuments(MANIFESTS).map((d) => d.toJS() as Record<string, unknown>);
    expect(docs).toHaveLength(before.length);
    for (const [i, doc] of docs.entries()) {
      const kind = doc['kind'] as string;
      const expected = structuredClone(before[i]!);
      if (kind === 'List') {
        const item = (expected['items'] as Record<string, unknown>[])[0]!;
        at(item, ['spec', 'template'])['metadata'] = { labels: { 'mtls-injection': 'enabled' } };
      } else if (LABEL_PATHS[kind] !== undefined) {
        const path = LABEL_PATHS[kind];
        const parent = at(expected, path.slice(0, -1));
        const meta = (parent['metadata'] ??= {}) as Record<string, unknown>;
        meta['labels'] = { ...(meta['labels'] as object | undefined), 'mtls-injection': 'enabled' };
      }
      expect(doc, kind).toEqual(expected);
    }
    expect(out).toContain('# the shop');
    expect(out).toContain('# the app');
    expect(err).toContain('ConfigMap/settings: not a pod or workload; passed through unchanged');
    expect(err).toContain('Deployment/in-list: label mtls-injection=enabled added');
  });

  it('reads standard input with -f -', async () => {
    const { out } = await run(
      ['-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n',
    );
    expect(parse(out)).toMatchObject({ metadata: { labels: { 'mtls-injection': 'enabled' } } });
  });

  it('--render applies exactly the patch the webhook would, in the object namespace', async () => {
    const { code, out } = await run(['-f', file(MANIFESTS), '--render', '-n', 'ignored-for-named-ns']);
    expect(code).toBe(0);
    const pod = parseAllDocuments(out)[0]!.toJS() as Record<string, unknown>;
    const original = parseAllDocuments(MANIFESTS)[0]!.toJS() as Record<string, unknown>;
    const decision = decide({
      pod: original,
      namespace: 'shop',
      mode: 'enabled',
      operation: 'CREATE',
      excludedNamespaces: EXCLUDED,
      settings: SETTINGS,
      secretSuffix: 'x7k2pmq4wz',
    });
    expect(decision.kind).toBe('inject');
    if (decision.kind === 'inject') expect(pod).toEqual(decision.pod);
    expect(out).toContain('# the app');
  });

  it('--render of a template gives a preview Secret name the webhook never reuses for real pods', async () => {
    const { out, err } = await run(['-f', file(MANIFESTS), '--render']);
    const deployment = parseAllDocuments(out)[1]!.toJS() as Record<string, unknown>;
    const template = at(deployment, ['spec', 'template']);
    const annotations = at(template, ['metadata', 'annotations']);
    expect(annotations['mtls-injector.io/secret']).toMatch(/^checkout-preview-[a-z0-9]{10}-mtls$/);
    expect(err).toMatch(/Deployment\/checkout: rendered with Secret checkout-preview-/);

    // Applied anyway, each real pod (generateName from its ReplicaSet) still gets its own Secret.
    const realPod = {
      ...template,
      metadata: { ...at(template, ['metadata']), generateName: 'checkout-7d9f8b6c4-' },
    };
    for (const suffix of ['bcdfgbcdfg', 'hjklmhjklm']) {
      const decision = decide({
        pod: realPod,
        namespace: 'default',
        mode: 'enabled',
        operation: 'CREATE',
        excludedNamespaces: EXCLUDED,
        settings: SETTINGS,
        secretSuffix: suffix,
      });
      expect(decision.kind).toBe('inject');
      if (decision.kind === 'inject') expect(decision.secretName).toBe(`checkout-7d9f8b6c4-${suffix}-mtls`);
    }

    // Rendering the rendered output again changes nothing.
    const again = await run(['-f', '-', '--render'], out);
    expect(again.out).toBe(out);
  });

  it('--render exits 1 and says why when the webhook would deny an object', async () => {
    const denied =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  serviceAccountName: "b/admin"\n  containers: [{name: c}]\n';
    const { code, err, out } = await run(['-f', '-', '--render'], denied);
    expect(code).toBe(1);
    expect(err).toContain('would DENY it (invalid_service_account)');
    expect(parse(out)).toEqual(parse(denied));
  });

  it('refuses YAML it cannot parse and files it cannot read', async () => {
    const bad = await run(['-f', '-'], 'kind: Pod\n  bad: [');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/not valid YAML/);
    const missing = await run(['-f', '/nonexistent/x.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot read/);
  });
});
