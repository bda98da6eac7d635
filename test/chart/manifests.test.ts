import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { describeWithHelm, REPO_ROOT } from './helm.js';

describeWithHelm('manifests/mtls-injector.yaml', () => {
  it('is exactly what scripts/render-manifests.sh renders from the chart (no drift)', () => {
    const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/render-manifests.sh'), '--check'], {
      encoding: 'utf8',
    });
    expect(r.stderr + r.stdout).toContain('matches the chart');
    expect(r.status).toBe(0);
  });

  it('starts with the restricted install Namespace', () => {
    const docs = parseAllDocuments(readFileSync(join(REPO_ROOT, 'manifests/mtls-injector.yaml'), 'utf8'));
    expect(docs[0]?.toJS()).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'mtls-injector',
        labels: {
          'app.kubernetes.io/part-of': 'mtls-injector',
          'pod-security.kubernetes.io/enforce': 'restricted',
        },
      },
    });
  });
});
