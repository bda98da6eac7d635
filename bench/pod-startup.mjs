// Pod start-up latency a user feels (docs/using-mtls.md, "Start-up time"): N pods created at once, time from the pod CREATE
// request to the app container Running, client-side watch timestamps, on the e2e cluster (docs/e2e.md) with the
// product installed by its chart. Up to four kinds of pod, in an order that rotates and reverses round by round, so
// each round's figures see the same machine and no pair always runs in the same order:
//
//   bare              unlabelled namespace, one app container (the pause image)
//   bare-init         the same plus one trivial init container (the pause image with `exit`): the cost of any
//                     init container on this runtime
//   injected          namespace labelled mtls-injection=enabled (and mtls-injector.io/delivery=BENCH_DELIVERY
//                     unless auto): admission, the credential (the rotator's Secret, or the kubelet's
//                     PodCertificateRequest signed by the rotator), the kubelet's mount and mtls-init
//   injected-noinit   the same with the product upgraded to init.enabled=false (`helm upgrade --reuse-values`,
//                     waited until only the new product pods run and a new rotator leads; set back after)
//   bare-init-product (only when named in BENCH_VARIANTS) bare-init with mtls-init's image, security settings and
//                     resources, running `/app/bin/mtls-init --help` (exits at once): splits what the init
//                     container costs the runtime from the Secret volume and the rest of injection
//   bare-init-restricted (only when named) bare-init with mtls-init's security settings and resources on the
//                     pause image: with bare-init-product, the image's cost apart from the settings'
//   bare-init-secret  (only when named) bare-init-restricted plus a Secret volume mounted in both containers as
//                     the webhook mounts it, each pod's Secret made before the round: the injected pod's shape
//                     with none of the product at work (no webhook call, no rotator, no check). Against
//                     bare-init, what Kubernetes itself charges for that shape; injected against it, what the
//                     product's live work adds
//
// The product's own share is injected − bare-init of the same round (and injected-noinit − bare). Per injected pod
// it also records when its credential existed (watch: the Secret created or the PodCertificateRequest signed,
// and which of the two the product chose) and how many `MountVolume.SetUp failed` lines the kubelet
// logged during the round (a Secret that was not there yet).
//
//   npm run bench:startup                      brings the e2e cluster up unless it is up, leaves it running
//   BENCH_PODS=20,50 BENCH_ROUNDS=3 BENCH_VARIANTS=bare,bare-init,injected,injected-noinit npm run bench:startup
//   BENCH_DELIVERY=secret|podCertificate       the injected namespaces' delivery label (default auto: no label,
//                                              what the install gives; on 1.37 Pod Certificates)
//   BENCH_TOKEN_VOLUME=0                       pods without the service account token volume (default with it)
//   BENCH_TRACE=/tmp/trace.jsonl               also append each pod's stage times (epoch ms) there, to join
//                                              with the rotator's `certificate issued` timings and the kubelet log
//   BENCH_SETTLE_IDLE=0.75 BENCH_SETTLE_WINDOW_MS=3000 BENCH_SETTLE_MAX_MS=90000
//                                              before each round, wait for the CPUs to be that idle (recorded
//                                              per round as `settle`)
//
// Writes bench/results/pod-startup.json and prints a table. Benchmarks measure; nothing here asserts a time.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  openSync,
  readSync,
  closeSync,
} from 'node:fs';
import { Agent, request } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { INIT_RESOURCES, INIT_SECURITY_CONTEXT } from '../dist/core/mutate/init-container.js';
import { INIT_BINARY_PATH } from '../dist/core/names.js';
import { ensureMount } from '../dist/core/mutate/mounts.js';
import { certificateVolume } from '../dist/core/mutate/volume.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const E2E = join(ROOT, '.e2e');
const PODS = (process.env.BENCH_PODS ?? '20,50').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const ALL_VARIANTS = [
  'bare',
  'bare-init',
  'injected',
  'injected-noinit',
  'bare-init-product',
  'bare-init-restricted',
  'bare-init-secret',
];
/** The default run: the four kinds the product's share compares; bare-init-product is asked for by name. */
const DEFAULT_VARIANTS = ['bare', 'bare-init', 'injected', 'injected-noinit'];
const VARIANTS = (process.env.BENCH_VARIANTS ?? DEFAULT_VARIANTS.join(',')).split(',');
const DELIVERY = process.env.BENCH_DELIVERY ?? 'auto';
const TOKEN_VOLUME = process.env.BENCH_TOKEN_VOLUME !== '0';
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 300_000);
const OUT = process.env.BENCH_OUT ?? join(ROOT, 'bench/results/pod-startup.json');
/** A file to append each round's per-pod epoch-ms stage times to (JSON lines), to join with component logs. */
const TRACE = process.env.BENCH_TRACE;
/** Before each round: wait for the CPUs to be this idle over SETTLE_WINDOW_MS, for at most SETTLE_MAX_MS. */
const SETTLE_IDLE = Number(process.env.BENCH_SETTLE_IDLE ?? 0.75);
const SETTLE_WINDOW_MS = Number(process.env.BENCH_SETTLE_WINDOW_MS ?? 3_000);
const SETTLE_MAX_MS = Number(process.env.BENCH_SETTLE_MAX_MS ?? 90_000);

for (const v of VARIANTS)
  if (!ALL_VARIANTS.includes(v)) throw new Error(`unknown variant ${v}: use ${ALL_VARIANTS}`);

// ---- the cluster -------------------------------------------------------------------------------------------

if (process.env.BENCH_NO_UP !== '1') {
  const up = spawnSync('bash', [join(ROOT, 'scripts/e2e/up.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (up.status !== 0) throw new Error('npm run e2e:up failed');
}
/** A KEY=value file the harness writes in .e2e/ ({} when it does not exist). */
function envFile(name) {
  const file = join(E2E, name);
  return Object.fromEntries(
    (existsSync(file) ? readFileSync(file, 'utf8') : '')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}
const images = envFile('images.env');
if (images.PAUSE_IMAGE === undefined)
  throw new Error(`${join(E2E, 'images.env')} names no PAUSE_IMAGE: run npm run e2e:up`);
if (VARIANTS.includes('bare-init-product') && images.INIT_IMAGE === undefined)
  throw new Error(
    `${join(E2E, 'images.env')} names no INIT_IMAGE (bare-init-product runs it): run npm run e2e:up`,
  );
const kc = new KubeConfig();
kc.loadFromFile(join(E2E, 'kubeconfig'));
const server = new URL(kc.getCurrentCluster().server);
const tls = {};
await kc.applyToHTTPSOptions(tls);
const agent = new Agent({ ...tls, keepAlive: true, maxSockets: 64 });

/** One API call; resolves to the parsed body, rejects with the status and message on >= 400. */
function api(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: server.hostname,
        port: server.port,
        path,
        method,
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 400)
            reject(
              Object.assign(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`), {
                status: res.statusCode,
              }),
            );
          else resolve(text === '' ? {} : JSON.parse(text));
        });
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A watch: calls onEvent(type, object, now) per event; resolves once the stream is open. */
function watch(path, onEvent) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: server.hostname,
        port: server.port,
        path: `${path}?watch=true`,
        method: 'GET',
        ...tls,
        agent: false,
      },
      (res) => {
        let buffered = '';
        res.on('data', (chunk) => {
          const now = performance.now();
          buffered += chunk;
          let nl;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.trim() !== '') {
              const e = JSON.parse(line);
              onEvent(e.type, e.object, now);
            }
          }
        });
        resolve({ stop: () => req.destroy() });
      },
    );
    req.on('error', (err) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- a quiet node before each round ------------------------------------------------------------------------

/** The machine's CPU time so far, from /proc/stat: [idle incl. iowait, total], in clock ticks. */
function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return [f[3] + f[4], f.reduce((a, b) => a + b, 0)];
}

/**
 * Waits until the CPUs were at least SETTLE_IDLE idle over SETTLE_WINDOW_MS (at most SETTLE_MAX_MS), so a round
 * does not start while the previous one is still being cleaned up: a namespace is gone from the API before the
 * kubelet has stopped its sandboxes, torn down their networks and removed their cgroups, and 50 pods of that
 * work, landing on whichever variant runs next, swung the share by seconds. Returns how long it waited and the
 * idle fraction of the last window.
 */
async function settle() {
  const t0 = performance.now();
  for (;;) {
    const [idle0, total0] = cpuTimes();
    await sleep(SETTLE_WINDOW_MS);
    const [idle1, total1] = cpuTimes();
    const idle = (idle1 - idle0) / Math.max(1, total1 - total0);
    const waited = performance.now() - t0;
    if (idle >= SETTLE_IDLE || waited >= SETTLE_MAX_MS)
      return { waitedMs: Math.round(waited), idle: Math.round(idle * 100) / 100 };
  }
}

async function waitUntil(what, probe, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

// ---- whose CPU a round used -------------------------------------------------------------------------------

const sandboxEnv = envFile('sandbox.env');
const ACCT = `/sys/fs/cgroup/cpuacct${sandboxEnv.CGROUP_ROOT ?? '/mtls-e2e-0'}`;

function busyTicks() {
  const [idle, total] = cpuTimes();
  return total - idle;
}

/** CPU ns used so far by a cpuacct group (relative to the sandbox's), or undefined where it does not exist. */
function usage(group) {
  try {
    return Number(readFileSync(join(ACCT, group, 'cpuacct.usage'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The product's pods' cgroups under kubepods, by component (pod UID → its QoS class's directory). */
async function productGroups() {
  const pods = (await api('GET', `/api/v1/namespaces/${INSTALL_NS}/pods`)).items;
  const groups = {};
  for (const pod of pods) {
    const component = pod.metadata.labels?.['app.kubernetes.io/component'] ?? 'other';
    const qos = (pod.status?.qosClass ?? 'Burstable').toLowerCase();
    const dir = `kubepods/${qos === 'guaranteed' ? '' : `${qos}/`}pod${pod.metadata.uid}`;
    (groups[component] ??= []).push(dir);
  }
  return groups;
}

/** The sandbox's cpuacct groups by part of the node (scripts/e2e/sandbox.sh, docs/e2e.md). */
const NODE_PARTS = { controlPlane: 'control-plane', system: 'system', kubepods: 'kubepods' };

/**
 * CPU ns used so far by each part of the node (the control plane: etcd, kube-apiserver, controller-manager,
 * scheduler; the node's daemons: kubelet, containerd and its shims, runc, kube-proxy; kubepods) and by the
 * product's pods by component (`product`, from productGroups()), and the machine's busy clock ticks. CPU is
 * what 50 pods at once compete for on this 2-core node, and it varies far less from round to round than their
 * latency does.
 */
function cpuSnapshot(product) {
  return {
    node: Object.fromEntries(Object.entries(NODE_PARTS).map(([part, dir]) => [part, usage(dir)])),
    product: Object.fromEntries(
      Object.entries(product).map(([component, dirs]) => [
        component,
        dirs.reduce((sum, d) => sum + (usage(d) ?? 0), 0),
      ]),
    ),
    busy: busyTicks(),
  };
}

/**
 * CPU seconds between two snapshots: each part of the node, each product component, the rest of kubepods
 * (the round's own pods) and the whole machine.
 */
function cpuUsed(before, after) {
  const hundredths = (x) => Math.round(x * 100) / 100;
  const used = {};
  for (const side of ['node', 'product'])
    for (const [key, ns] of Object.entries(after[side]))
      if (ns !== undefined && before[side][key] !== undefined)
        used[key] = hundredths((ns - before[side][key]) / 1e9);
  if (used.kubepods !== undefined)
    used.roundPods = hundredths(
      Object.keys(after.product).reduce((rest, component) => rest - (used[component] ?? 0), used.kubepods),
    );
  // /proc/stat counts in clock ticks (USER_HZ, 100 on Linux): the whole machine's busy time.
  used.machine = (after.busy - before.busy) / 100;
  return used;
}

// ---- one round of one variant ------------------------------------------------------------------------------

/** The init container of each bare-init variant (none for the others). */
function initContainerOf(variant) {
  const trivial = {
    name: 'init',
    image: images.PAUSE_IMAGE,
    args: ['exit'],
    imagePullPolicy: 'IfNotPresent',
  };
  // mtls-init's resources and security settings as the webhook renders them (src/core/mutate/init-container.ts).
  const restricted = { ...trivial, resources: INIT_RESOURCES, securityContext: INIT_SECURITY_CONTEXT };
  switch (variant) {
    case 'bare-init':
      return trivial;
    case 'bare-init-restricted':
      // The settings on the pause image: with bare-init-product, the product image's cost apart from theirs.
      return restricted;
    case 'bare-init-secret': // and the Secret volume's mounts (podBody)
      return restricted;
    case 'bare-init-product': {
      // mtls-init's image too, running a command that exits at once: what the init container costs the
      // runtime, without the Secret volume or the check.
      const { args: _args, ...rest } = restricted;
      return { ...rest, image: images.INIT_IMAGE, command: [INIT_BINARY_PATH, '--help'] };
    }
    default:
      return undefined;
  }
}

/** bare-init-secret: the name of pod `i`'s Secret, made before the round. */
const shapeSecret = (i) => `s-${i}`;
/** bare-init-secret: files of the sizes the rotator writes (a P-256 leaf, its key, the CA, a CRL). */
const SHAPE_FILES = Object.fromEntries(
  [
    ['tls.crt', 900],
    ['tls.key', 250],
    ['ca.crt', 650],
    ['ca.crl', 450],
  ].map(([name, size]) => [name, randomBytes(size).toString('base64')]),
);

function podBody(variant, i) {
  const annotations = {};
  const init = initContainerOf(variant);
  const initContainers = init === undefined ? [] : [init];
  const app = { name: 'app', image: images.PAUSE_IMAGE, imagePullPolicy: 'IfNotPresent' };
  const shaped = variant === 'bare-init-secret';
  // bare-init-secret: the Secret volume, mounted in every container as the webhook mounts it.
  if (shaped) for (const container of [...initContainers, app]) ensureMount(container);
  return {
    metadata: { name: `p-${i}`, annotations },
    spec: {
      terminationGracePeriodSeconds: 0,
      // Kubernetes' default service account token volume, as nearly every pod has: the kubelet holds a pod
      // with any volume until its next check of the mounts (every 300 ms), so without one the bare pods
      // skipped a wait that injected pods, and most real pods, pay. BENCH_TOKEN_VOLUME=0 leaves it out.
      automountServiceAccountToken: TOKEN_VOLUME,
      securityContext: { runAsNonRoot: true, runAsUser: 65535 },
      initContainers,
      containers: [app],
      ...(shaped
        ? { volumes: [certificateVolume({ kind: 'secret', secretName: shapeSecret(i) }, false)] }
        : {}),
    },
  };
}

/** Lines the kubelet logged since `offset` (its log in .e2e/logs) matching `pattern`. */
function kubeletLines(offset, pattern) {
  const file = join(E2E, 'logs/kubelet.log');
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(size - offset);
  readSync(fd, buf, 0, buf.length, offset);
  closeSync(fd);
  return buf
    .toString('utf8')
    .split('\n')
    .filter((l) => pattern.test(l)).length;
}

async function round(variant, n) {
  const injected = variant.startsWith('injected');
  const ns = `bench-${variant}-${randomBytes(3).toString('hex')}`;
  await api('POST', '/api/v1/namespaces', {
    metadata: {
      name: ns,
      labels: !injected
        ? {}
        : DELIVERY === 'auto'
          ? { 'mtls-injection': 'enabled' }
          : { 'mtls-injection': 'enabled', 'mtls-injector.io/delivery': DELIVERY },
    },
  });
  await waitUntil('serviceaccount default', () =>
    api('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`).then(
      () => true,
      () => false,
    ),
  );
  const pods = new Map(); // name -> { sent, admitted, secret, initDone, running }
  const podWatch = await watch(`/api/v1/namespaces/${ns}/pods`, (type, pod, now) => {
    const p = pods.get(pod.metadata.name);
    if (p === undefined) return;
    const init = (pod.status?.initContainerStatuses ?? []).find(
      (c) => c.name === 'mtls-init' || c.name === 'init',
    );
    if (p.scheduled === undefined && pod.spec?.nodeName) p.scheduled = now;
    const sandboxReady = (pod.status?.conditions ?? []).some(
      (c) => c.type === 'PodReadyToStartContainers' && c.status === 'True',
    );
    if (p.sandbox === undefined && sandboxReady) p.sandbox = now;
    if (p.initDone === undefined && init?.state?.terminated?.exitCode === 0) p.initDone = now;
    const app = (pod.status?.containerStatuses ?? []).find((c) => c.name === 'app');
    if (p.running === undefined && app?.state?.running !== undefined) p.running = now;
  });
  // When each injected pod's credential existed: its Secret created (Secret delivery), or its
  // PodCertificateRequest signed (Pod Certificates delivery), whichever the product chose.
  const credentialWatches = injected
    ? [
        await watch(`/api/v1/namespaces/${ns}/secrets`, (type, secret, now) => {
          const owner = secret.metadata.ownerReferences?.[0]?.name;
          const p = owner === undefined ? undefined : pods.get(owner);
          if (p !== undefined && p.credential === undefined && type === 'ADDED')
            Object.assign(p, { credential: now, deliveredBy: 'secret' });
        }),
        await watch(
          `/apis/certificates.k8s.io/v1/namespaces/${ns}/podcertificaterequests`,
          (type, pcr, now) => {
            const p = pods.get(pcr.spec?.podName);
            // The kubelet creates the request while it sets up the pod's volumes; the signer answers it.
            if (p !== undefined && p.requested === undefined && type === 'ADDED') p.requested = now;
            if (p !== undefined && p.credential === undefined && pcr.status?.certificateChain)
              Object.assign(p, { credential: now, deliveredBy: 'podCertificate' });
          },
        ),
      ]
    : [];
  // bare-init-secret: every pod's Secret exists before the first CREATE, outside the measured window.
  if (variant === 'bare-init-secret')
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        api('POST', `/api/v1/namespaces/${ns}/secrets`, {
          metadata: { name: shapeSecret(i) },
          type: 'kubernetes.io/tls', // as the rotator writes them (src/model/workload-secret.ts)
          data: SHAPE_FILES,
        }),
      ),
    );
  const logOffset = statSync(join(E2E, 'logs/kubelet.log')).size;
  const load = loadavg()[0];
  const product = await productGroups();
  const cpuBefore = cpuSnapshot(product);
  for (let i = 0; i < n; i++) pods.set(`p-${i}`, {});
  await Promise.all(
    [...pods.keys()].map(async (name, i) => {
      const p = pods.get(name);
      p.sent = performance.now();
      const created = await api('POST', `/api/v1/namespaces/${ns}/pods`, podBody(variant, i));
      p.admitted = performance.now();
      p.injected = created.metadata?.labels?.['mtls-injector.io/managed'] === 'true';
      p.withInit = (created.spec?.initContainers ?? []).some((c) => c.name === 'mtls-init');
    }),
  );
  await waitUntil(`${n} ${variant} pods Running`, () =>
    [...pods.values()].every((p) => p.running !== undefined),
  );
  const cpu = cpuUsed(cpuBefore, cpuSnapshot(product));
  podWatch.stop();
  for (const w of credentialWatches) w.stop();
  const failedMounts = kubeletLines(logOffset, /MountVolume\.SetUp failed/);
  if (TRACE !== undefined) {
    const epoch = (t) => (t === undefined ? undefined : Math.round(performance.timeOrigin + t));
    const lines = [...pods.entries()].map(([name, p]) =>
      JSON.stringify({
        variant,
        pods: n,
        namespace: ns,
        pod: name,
        sent: epoch(p.sent),
        admitted: epoch(p.admitted),
        scheduled: epoch(p.scheduled),
        sandbox: epoch(p.sandbox),
        requested: epoch(p.requested),
        credential: epoch(p.credential),
        initDone: epoch(p.initDone),
        running: epoch(p.running),
      }),
    );
    writeFileSync(TRACE, `${lines.join('\n')}\n`, { flag: 'a' });
  }
  const all = [...pods.values()];
  if (injected && !all.every((p) => p.injected))
    throw new Error(`${variant}: a pod in ${ns} was not injected`);
  if (variant === 'injected' && !all.every((p) => p.withInit))
    throw new Error(`injected: a pod in ${ns} has no mtls-init`);
  if (variant === 'injected-noinit' && all.some((p) => p.withInit))
    throw new Error(`injected-noinit: a pod in ${ns} has mtls-init (is init.enabled=false applied?)`);
  await api('DELETE', `/api/v1/namespaces/${ns}`);
  await waitUntil(`namespace ${ns} gone`, () =>
    api('GET', `/api/v1/namespaces/${ns}`).then(
      () => false,
      (e) => e.status === 404,
    ),
  );
  const ms = (from, to) => Math.round((to - from) * 10) / 10;
  return {
    variant,
    pods: n,
    loadAverage: Math.round(load * 100) / 100,
    startup: summary(all.map((p) => ms(p.sent, p.running))),
    admission: summary(all.map((p) => ms(p.sent, p.admitted))),
    scheduled: summary(all.map((p) => ms(p.sent, p.scheduled ?? Number.NaN))),
    // The kubelet reports the sandbox ready once the pod's volumes are mounted and its network is set up.
    sandbox: summary(all.map((p) => ms(p.sent, p.sandbox ?? Number.NaN))),
    ...(injected
      ? {
          delivery: DELIVERY,
          deliveredBy: [...new Set(all.map((p) => p.deliveredBy ?? 'none seen'))].join(','),
          credential: summary(all.map((p) => ms(p.sent, p.credential ?? Number.NaN))),
          credentialToRunning: summary(all.map((p) => ms(p.credential ?? Number.NaN, p.running))),
          ...(all.some((p) => p.requested !== undefined)
            ? {
                requested: summary(all.map((p) => ms(p.sent, p.requested ?? Number.NaN))),
                signed: summary(all.map((p) => ms(p.requested ?? Number.NaN, p.credential ?? Number.NaN))),
              }
            : {}),
        }
      : {}),
    ...(variant === 'injected' || variant.startsWith('bare-init')
      ? { initDone: summary(all.map((p) => ms(p.sent, p.initDone ?? Number.NaN))) }
      : {}),
    kubeletFailedMounts: failedMounts,
    cpuSeconds: cpu,
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summary(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50Ms: Math.round(percentile(sorted, 50)),
    p99Ms: Math.round(percentile(sorted, 99)),
    maxMs: Math.round(sorted.at(-1)),
  };
}

/** The median of a few numbers, unrounded (undefined entries skipped). */
const medianOf = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const median = (xs) => Math.round(medianOf(xs));

// ---- the product's init.enabled ----------------------------------------------------------------------------

const productEnv = envFile('product.env');
const INSTALL_NS = productEnv.INSTALL_NAMESPACE ?? 'mtls-injector';
let initEnabled = true;

/**
 * `helm upgrade --reuse-values --set init.enabled=<enabled>` as a platform engineer would, then waits until
 * only the new product pods exist (none terminating: an old webhook pod still answers during its shutdown
 * delay) and the Lease names a live rotator pod.
 */
async function setInit(enabled) {
  if (enabled === initEnabled) return;
  const t0 = performance.now();
  execFileSync(
    join(ROOT, '.tools/bin/helm'),
    [
      'upgrade',
      'mtls-injector',
      productEnv.CHART_PACKAGE,
      '--kubeconfig',
      join(E2E, 'kubeconfig'),
      '-n',
      INSTALL_NS,
      '--reuse-values',
      '--set',
      `init.enabled=${enabled}`,
      '--wait',
      '--timeout',
      '5m',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitUntil('only the upgraded product pods', async () => {
    const pods = (await api('GET', `/api/v1/namespaces/${INSTALL_NS}/pods`)).items;
    const ready = (p) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    const lease = await api(
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${INSTALL_NS}/leases/mtls-injector-rotator`,
    ).catch(() => undefined);
    const holder = lease?.spec?.holderIdentity;
    return (
      pods.every((p) => p.metadata.deletionTimestamp === undefined && ready(p)) &&
      pods.some((p) => p.metadata.name === holder)
    );
  });
  initEnabled = enabled;
  console.error(`init.enabled=${enabled}: product rolled in ${Math.round(performance.now() - t0)} ms`);
}

// ---- main --------------------------------------------------------------------------------------------------

const started = new Date();
const rounds = [];
try {
  for (const n of PODS) {
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order every other round and reverse it on odd rounds, so no variant always runs first (on a
      // cold node) or last, and each pair compared (injected after or before bare-init) runs in both orders
      // about as often: a rotation alone put injected right after bare-init in 4 rounds of 5.
      const rotated = VARIANTS.map((_, i) => VARIANTS[(i + Math.floor(r / 2)) % VARIANTS.length]);
      const order = r % 2 === 0 ? rotated : rotated.reverse();
      for (const variant of order) {
        if (variant.startsWith('injected')) await setInit(variant === 'injected');
        const quiet = await settle();
        const result = { round: r + 1, settle: quiet, ...(await round(variant, n)) };
        rounds.push(result);
        console.log(JSON.stringify(result));
      }
    }
  }
} finally {
  await setInit(true);
}

const rows = [];
for (const n of PODS) {
  const of = (v) => rounds.filter((x) => x.pods === n && x.variant === v);
  const row = { pods: n };
  for (const v of VARIANTS) {
    const rs = of(v);
    if (rs.length === 0) continue;
    row[v] = {
      p50Ms: median(rs.map((x) => x.startup.p50Ms)),
      p99Ms: median(rs.map((x) => x.startup.p99Ms)),
      p50RangeMs: [Math.min(...rs.map((x) => x.startup.p50Ms)), Math.max(...rs.map((x) => x.startup.p50Ms))],
      p99RangeMs: [Math.min(...rs.map((x) => x.startup.p99Ms)), Math.max(...rs.map((x) => x.startup.p99Ms))],
      // CPU seconds the node's parts used from the first CREATE to the last pod Running (median per part).
      cpuSeconds: Object.fromEntries(
        Object.keys(rs[0].cpuSeconds).map((k) => [k, medianOf(rs.map((x) => x.cpuSeconds[k]))]),
      ),
      ...(v.startsWith('injected')
        ? {
            credentialP50Ms: median(rs.map((x) => x.credential.p50Ms)),
            credentialP99Ms: median(rs.map((x) => x.credential.p99Ms)),
            kubeletFailedMounts: rs.map((x) => x.kubeletFailedMounts),
          }
        : {}),
    };
  }
  // The product's share, paired within each round: injected − bare-init.
  /** Rounds of `a` with the same round of `b`. */
  const pairsOf = (a, b) =>
    of(a)
      .map((x) => [x, of(b).find((y) => y.round === x.round)])
      .filter(([, y]) => y !== undefined);
  const share = (a, b) => {
    const pairs = pairsOf(a, b);
    if (pairs.length === 0) return undefined;
    return {
      p50Ms: median(pairs.map(([x, y]) => x.startup.p50Ms - y.startup.p50Ms)),
      p99Ms: median(pairs.map(([x, y]) => x.startup.p99Ms - y.startup.p99Ms)),
      byRound: pairs.map(([x, y]) => ({
        round: x.round,
        p50Ms: x.startup.p50Ms - y.startup.p50Ms,
        p99Ms: x.startup.p99Ms - y.startup.p99Ms,
      })),
    };
  };
  // The same pairing in CPU: what the product's pods cost the whole machine, per pod.
  const cpuShare = (a, b) => {
    const pairs = pairsOf(a, b);
    if (pairs.length === 0) return undefined;
    const perPodMs = (part) =>
      Math.round(
        (medianOf(pairs.map(([x, y]) => (x.cpuSeconds[part] ?? 0) - (y.cpuSeconds[part] ?? 0))) * 1000) / n,
      );
    const parts = Object.keys(pairs[0][0].cpuSeconds);
    return Object.fromEntries(parts.map((k) => [k, perPodMs(k)]));
  };
  const productCpu = cpuShare('injected', 'bare-init');
  if (productCpu) row.productCpuMsPerPod = productCpu;
  const productShare = share('injected', 'bare-init');
  const productInit = share('bare-init-product', 'bare-init');
  const productInitToInjected = share('injected', 'bare-init-product');
  if (productShare) row.productShare = productShare;
  // With bare-init-product: the init container's own cost to the runtime, and what injection adds beyond it.
  if (productInit) row.productInitOverTrivialInit = productInit;
  if (productInitToInjected) row.injectedOverProductInit = productInitToInjected;
  // With bare-init-restricted: the security settings' cost, and the product image's beyond them.
  const restricted = share('bare-init-restricted', 'bare-init');
  const productImage = share('bare-init-product', 'bare-init-restricted');
  if (restricted) row.restrictedOverTrivialInit = restricted;
  if (productImage) row.productImageOverRestrictedInit = productImage;
  // With bare-init-secret: what Kubernetes charges for the injected pod's shape, and the product's live work.
  const shape = share('bare-init-secret', 'bare-init');
  const live = share('injected', 'bare-init-secret');
  if (shape) row.shapeOverTrivialInit = shape;
  if (live) row.injectedOverShape = live;
  const shapeCpu = cpuShare('bare-init-secret', 'bare-init');
  if (shapeCpu) row.shapeCpuMsPerPod = shapeCpu;
  const noInitShare = share('injected-noinit', 'bare');
  if (noInitShare) row.productShareWithoutInit = noInitShare;
  rows.push(row);
}

const kubeletVersion = execFileSync(
  join(ROOT, '.tools/bin/kubectl'),
  [
    '--kubeconfig',
    join(E2E, 'kubeconfig'),
    'get',
    'nodes',
    '-o',
    'jsonpath={.items[0].status.nodeInfo.kubeletVersion} {.items[0].status.nodeInfo.containerRuntimeVersion}',
  ],
  { encoding: 'utf8' },
);
const result = {
  benchmark: 'pod-startup',
  command: `BENCH_PODS=${PODS.join(',')} BENCH_ROUNDS=${ROUNDS} BENCH_VARIANTS=${VARIANTS.join(',')} BENCH_DELIVERY=${DELIVERY} npm run bench:startup`,
  started: started.toISOString(),
  finished: new Date().toISOString(),
  machine: { cpus: cpus().length, node: kubeletVersion.trim() },
  loadAverage: {
    min: Math.min(...rounds.map((r) => r.loadAverage)),
    max: Math.max(...rounds.map((r) => r.loadAverage)),
  },
  rows,
  rounds,
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);

const cell = (c) => (c === undefined ? '–' : `${c.p50Ms} / ${c.p99Ms}`);
console.log(
  `\npod CREATE → app container Running, p50 / p99 ms (median of ${ROUNDS} rounds; load average ${result.loadAverage.min}–${result.loadAverage.max})`,
);
console.log(
  `| pods | ${VARIANTS.join(' | ')} | product share (injected − bare-init) | without mtls-init (injected-noinit − bare) |`,
);
console.log(`| ---: | ${VARIANTS.map(() => '---:').join(' | ')} | ---: | ---: |`);
for (const row of rows)
  console.log(
    `| ${row.pods} | ${VARIANTS.map((v) => cell(row[v])).join(' | ')} | ${cell(row.productShare)} | ${cell(row.productShareWithoutInit)} |`,
  );
const perPod = (cpu) =>
  Object.entries(cpu)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
for (const row of rows) {
  if (row.productCpuMsPerPod)
    console.log(
      `${row.pods} pods: CPU ms per pod injected − bare-init (median of rounds): ${perPod(row.productCpuMsPerPod)}`,
    );
  if (row.shapeOverTrivialInit)
    console.log(
      `${row.pods} pods: the shape alone (bare-init-secret − bare-init) ${cell(row.shapeOverTrivialInit)} ms; ` +
        `the product's live work (injected − bare-init-secret) ${cell(row.injectedOverShape)} ms; ` +
        `the shape's CPU ms per pod: ${perPod(row.shapeCpuMsPerPod)}`,
    );
}
console.log(`\nwrote ${OUT}`);
if (!existsSync(OUT)) process.exitCode = 1;
