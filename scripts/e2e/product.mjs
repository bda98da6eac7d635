// Prepares the local webhook and rotator processes from the chart `helm install` put into the e2e control
// plane (its manifest, as `helm get manifest` prints it): the RBAC, ServiceAccounts and
// MutatingWebhookConfiguration under test are exactly the chart's. Writes
//   .e2e/config.yaml            the config file the chart's ConfigMap carries (both processes read it)
//   .e2e/rotator.kubeconfig     the rotator ServiceAccount's token: it acts with the chart's RBAC, nothing more
//
//   node scripts/e2e/product.mjs <chart.yaml>
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse, stringify } from 'yaml';

const root = new URL('../..', import.meta.url).pathname;
const e2e = join(root, '.e2e');
const kubeconfig = join(e2e, 'kubeconfig');
const kubectl = (args, input) =>
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'inherit'],
  });

const rendered = parseAllDocuments(readFileSync(process.argv[2], 'utf8'))
  .map((d) => d.toJS())
  .filter((d) => d !== null && typeof d === 'object');
const namespace = rendered.find((o) => o.kind === 'ServiceAccount')?.metadata?.namespace ?? 'mtls-injector';

const configMap = rendered.find((o) => o.kind === 'ConfigMap');
writeFileSync(join(e2e, 'config.yaml'), configMap.data['config.yaml']);

const rotatorSa = rendered.find((o) => o.kind === 'ServiceAccount' && o.metadata.name.endsWith('rotator'));
const token = kubectl(['create', 'token', rotatorSa.metadata.name, '-n', namespace, '--duration=24h']).trim();
const admin = parse(readFileSync(kubeconfig, 'utf8'));
const cluster = admin.clusters[0];
writeFileSync(
  join(e2e, 'rotator.kubeconfig'),
  stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [cluster],
    users: [{ name: 'rotator', user: { token } }],
    contexts: [{ name: 'rotator', context: { cluster: cluster.name, user: 'rotator' } }],
    'current-context': 'rotator',
  }),
  { mode: 0o600 },
);
console.log(
  `chart installed in namespace ${namespace}: ${rendered.length} objects; rotator kubeconfig written`,
);
