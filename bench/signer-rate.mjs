// Issuance rate of the rotator in the e2e cluster, per second of its CPU: PodCertificateRequests signed
// (podCertificate delivery) beside Secrets issued (secret delivery). The CPU is the leading rotator
// container's, read from the kernel (cgroup v1 cpuacct.usage of its container), not from the process itself.
// Writes bench/results/signer-rate.json.
//
//   npm run e2e:up && npm run bench:signer          (N=200 by default: N=50 npm run bench:signer)
//
// Podcertificate side: N pods bound to a Node object no kubelet runs (so nothing starts on the 2-core node)
// in a namespace labelled podCertificate; once the rotator has seen them, N requests as a kubelet files them
// (a fresh openssl P-256 key and an empty PKCS#10 each, created by the admin: the node authorizer would
// refuse a node that is not the pod's), CPU counted from the first request to the last Issued. Secret side:
// N unschedulable pods in a namespace labelled secret, CPU counted from the first pod to the last Secret.
// Both include the watch traffic each path causes in the rotator; neither includes pod admission (webhook).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

const N = Number(process.env.N ?? 200);
const root = new URL('..', import.meta.url).pathname;
const kc = new KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG ?? join(root, '.e2e/kubeconfig'));
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const leases = kc.makeApiClient(CoordinationV1Api);
const INSTALL = 'mtls-injector';
const SIGNER = 'mtls-injector.io/spiffe';
const PCR = { group: 'certificates.k8s.io', version: 'v1', plural: 'podcertificaterequests' };
const NODE = 'bench-node';
const sandbox = Object.fromEntries(
  readFileSync(join(root, '.e2e/sandbox.env'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => l.split('=')),
);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(what, probe, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** The cgroup v1 cpuacct.usage file (ns of CPU) of the leading rotator's container. */
async function leaderCpuFile() {
  const lease = await leases.readNamespacedLease({ namespace: INSTALL, name: 'mtls-injector-rotator' });
  const holder = lease.spec?.holderIdentity ?? '';
  const pod = await core.readNamespacedPod({ namespace: INSTALL, name: holder });
  const uid = pod.metadata?.uid ?? '';
  const cid = (pod.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^containerd:\/\//, '');
  const base = `/sys/fs/cgroup/cpuacct${sandbox.CGROUP_ROOT}`;
  const find = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name === cid && dir.endsWith(`pod${uid}`)) return p;
      const deeper = find(p);
      if (deeper) return deeper;
    }
    return undefined;
  };
  const dir = find(base);
  if (!dir) throw new Error(`no cgroup of container ${cid} (pod ${holder}) under ${base}`);
  return { holder, file: join(dir, 'cpuacct.usage') };
}
const cpuSeconds = (file) => Number(readFileSync(file, 'utf8')) / 1e9;

async function namespace(prefix, delivery) {
  const name = `${prefix}-${Date.now().toString(36)}`;
  await core.createNamespace({
    body: {
      metadata: { name, labels: { 'mtls-injection': 'enabled', 'mtls-injector.io/delivery': delivery } },
    },
  });
  await waitUntil('default ServiceAccount', () =>
    core.readNamespacedServiceAccount({ namespace: name, name: 'default' }).catch(() => undefined),
  );
  return name;
}

function stubCsr(dir, i) {
  const key = join(dir, `k${i}`);
  execFileSync('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    key,
  ]);
  return execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/', '-outform', 'DER']).toString(
    'base64',
  );
}

const issuedOf = (r) => r.status?.conditions?.find((c) => c.status === 'True');

async function podCertificateSide() {
  const ns = await namespace('bench-pcr', 'podCertificate');
  const node = await core
    .readNode({ name: NODE })
    .catch(() => core.createNode({ body: { metadata: { name: NODE } } }));
  const sa = await core.readNamespacedServiceAccount({ namespace: ns, name: 'default' });
  const pods = [];
  for (let i = 0; i < N; i++) {
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: `p${i}` },
        spec: {
          nodeName: NODE,
          tolerations: [{ operator: 'Exists' }],
          containers: [{ name: 'app', image: 'localhost/none:bench' }],
        },
      },
    });
    pods.push(pod);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mtls-bench-csr-'));
  const csrs = pods.map((_, i) => stubCsr(dir, i));
  rmSync(dir, { recursive: true, force: true });
  await sleep(5000); // let the rotator's pod watch settle before counting
  const { holder, file } = await leaderCpuFile();
  const cpu0 = cpuSeconds(file);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const pod = pods[i];
    await custom.createNamespacedCustomObject({
      ...PCR,
      namespace: ns,
      body: {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'PodCertificateRequest',
        metadata: { name: `r${i}` },
        spec: {
          signerName: SIGNER,
          podName: pod.metadata.name,
          podUID: pod.metadata.uid,
          serviceAccountName: 'default',
          serviceAccountUID: sa.metadata.uid,
          nodeName: NODE,
          nodeUID: node.metadata.uid,
          maxExpirationSeconds: 3600,
          stubPKCS10Request: csrs[i],
        },
      },
    });
  }
  let answered = [];
  await waitUntil(`${N} requests answered`, async () => {
    answered = (await custom.listNamespacedCustomObject({ ...PCR, namespace: ns })).items.filter(issuedOf);
    return answered.length >= N;
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(file) - cpu0;
  const issued = answered.filter((r) => issuedOf(r).type === 'Issued').length;
  if (issued !== N) {
    const other = answered.find((r) => issuedOf(r).type !== 'Issued');
    throw new Error(`${N - issued} requests not issued, e.g. ${JSON.stringify(issuedOf(other))}`);
  }
  await core.deleteNamespace({ name: ns });
  return { leader: holder, issued, cpuSeconds: cpu, wallSeconds: wall, perCpuSecond: issued / cpu };
}

async function secretSide() {
  const ns = await namespace('bench-secret', 'secret');
  const { holder, file } = await leaderCpuFile();
  const cpu0 = cpuSeconds(file);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: `p${i}` },
        spec: {
          nodeSelector: { 'mtls-e2e/unschedulable': 'true' },
          containers: [{ name: 'app', image: 'localhost/none:bench' }],
        },
      },
    });
  }
  let secrets = 0;
  await waitUntil(`${N} Secrets`, async () => {
    secrets = (
      await core.listNamespacedSecret({ namespace: ns, labelSelector: 'mtls-injector.io/managed=true' })
    ).items.filter((s) => s.data?.['tls.crt']).length;
    return secrets >= N;
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(file) - cpu0;
  await core.deleteNamespace({ name: ns });
  return { leader: holder, issued: secrets, cpuSeconds: cpu, wallSeconds: wall, perCpuSecond: secrets / cpu };
}

const podCertificate = await podCertificateSide();
const secret = await secretSide();
await core.deleteNode({ name: NODE }).catch(() => undefined);
const result = {
  date: new Date().toISOString(),
  n: N,
  load: readFileSync('/proc/loadavg', 'utf8').trim(),
  podCertificate,
  secret,
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/signer-rate.json'), `${JSON.stringify(result, null, 2)}\n`);
const row = (name, r) =>
  `${name.padEnd(16)} ${String(r.issued).padStart(5)} in ${r.wallSeconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(2)} s rotator CPU: ${r.perCpuSecond.toFixed(1)} per CPU second`;
console.log(row('PCRs signed', podCertificate));
console.log(row('Secrets issued', secret));
