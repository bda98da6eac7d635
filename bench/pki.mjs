// PKI issuance benchmark: certificates/s and p50/p99 per leaf key algorithm on one core (the main thread),
// beside `openssl speed` figures for the same operations measured in the same run, and a node-forge RSA-2048
// baseline. Run with `npm run bench:pki` (builds first). Writes bench/results/pki.json and prints a table.
//
// One issuance is what the rotator does per Secret: a fresh leaf key (ECDSA P-256 / Ed25519 generated inline;
// RSA taken from a warm worker-thread pool), a certificate for a SPIFFE ID plus the 4 DNS SANs of one Service,
// signed by the default ECDSA P-256 CA, and both PEM outputs (tls.crt, PKCS#8 tls.key).
//
// Clock: rates are per core-second of CPU time of the main thread (Linux /proc/thread-self/schedstat,
// user+system), like `openssl speed`, which divides by CPU user time unless given -elapsed. p50/p99 are wall-clock
// per certificate and include preemption by whatever else runs on the machine.
//
// Pairing: on a shared machine the speed of one core moves from second to second, so every round measures
// `openssl speed -seconds 1` and our issuance back to back, and the reported share of the limit is the median of
// the per-round shares.
//
// The limit ("physical limit" on one core; see docs/adr/0001-crypto-stack.md):
//   inline keys:  limit = 1 / (1/keygen_rate + 1/sign_rate)
//     sign_rate   = `openssl speed ecdsap256` sign/s (the CA signs every leaf with P-256)
//     keygen_rate = the faster of (a) native key generation measured through node's thinnest binding
//                   (ECDH.generateKeys for P-256, generateKeyPairSync without encoding for Ed25519) and (b) an
//                   openssl speed proxy (`ecdhp256` ops for P-256, the `ed25519` sign rate for Ed25519: one
//                   scalar multiplication each, like keygen). OpenSSL 3.0's `speed` has no keygen test; taking
//                   the faster figure keeps the limit strict.
//   RSA from a warm pool: the key was generated earlier on another core, so limit = sign_rate.
//   node-forge RSA-2048: generates the key inline and signs with an RSA-2048 CA:
//     limit = 1 / (1/rsa2048_keygen_rate + 1/rsa2048_sign_rate); keygen = native generateKeyPairSync, CPU time.
import { execFileSync } from 'node:child_process';
import { createECDH, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';
import { generateRootCa } from '../dist/pki/ca.js';
import { issueLeaf } from '../dist/pki/issue.js';
import { createKeyPool } from '../dist/pki/key-pool.js';

const ROUNDS = { 'ecdsa-p256': 5, ed25519: 3, 'rsa-2048': 3, 'rsa-3072': 3 };
const ROUND_MS = 1000;
const KEYGEN_MS = 300;
const POOL_SIZE = { 'rsa-2048': 48, 'rsa-3072': 8 };
const FORGE_ITERATIONS = 5;
const TARGETS = { ecdsaCertsPerSecond: 9000, ecdsaShareOfLimit: 0.5, rsa2048CertsPerSecond: 2500 };
const RESULTS = fileURLToPath(new URL('./results/pki.json', import.meta.url));
const SCHEDSTAT = '/proc/thread-self/schedstat';
const CPU_CLOCK = existsSync(SCHEDSTAT) ? 'main-thread CPU time' : 'process CPU time';

/** CPU seconds this thread has run (the whole process where schedstat is missing). */
const cpuSeconds = existsSync(SCHEDSTAT)
  ? () => Number(readFileSync(SCHEDSTAT, 'latin1').split(' ')[0]) / 1e9
  : () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    };
const log = (line) => process.stderr.write(`${line}\n`);

const started = performance.now();
const now = new Date();
const ca = generateRootCa({
  keyAlgorithm: 'ecdsa-p256',
  trustDomain: 'cluster.local',
  lifetimeSeconds: 10 * 365 * 86_400,
  now,
});
const DNS = ['payments', 'payments.shop', 'payments.shop.svc', 'payments.shop.svc.cluster.local'];
const IDS = Array.from({ length: 1000 }, (_, i) => `spiffe://cluster.local/ns/shop/sa/workload-${i}`);
const leafOptions = { lifetimeSeconds: 86_400, backdateSeconds: 60, dnsNames: DNS, now };
const ecdh = createECDH('prime256v1');
let nextId = 0;
const spiffeId = () => IDS[nextId++ % IDS.length];

// RSA keys take 0.1-0.8 s each: fill the pools from the start, one worker at a time, on the other core.
const poolStarted = performance.now();
const rsa2048Pool = createKeyPool({ algorithm: 'rsa-2048', size: POOL_SIZE['rsa-2048'], workers: 1 });
const rsa2048Warm = rsa2048Pool.warm().then(() => (performance.now() - poolStarted) / 1000);
let rsa3072Pool;
const rsa3072Warm = rsa2048Warm.then(() => {
  const t = performance.now();
  rsa3072Pool = createKeyPool({ algorithm: 'rsa-3072', size: POOL_SIZE['rsa-3072'], workers: 1 });
  return rsa3072Pool.warm().then(() => (performance.now() - t) / 1000);
});

const rows = [];
const speedLog = [];

log('ecdsa-p256: rounds of openssl speed ecdsap256/ecdhp256 and inline issuance ...');
warmUp((id) => issueLeaf(ca, { ...leafOptions, keyAlgorithm: 'ecdsa-p256', spiffeId: id }));
rows.push(
  measureRounds('ecdsa-p256', {
    speed: ['ecdsap256', 'ecdhp256'],
    issue: () => issueLeaf(ca, { ...leafOptions, keyAlgorithm: 'ecdsa-p256', spiffeId: spiffeId() }),
    nativeKeygen: () => ecdh.generateKeys(),
    limit: (s, native) => {
      const keygen = Math.max(native, s.ecdhp256.ops);
      return {
        value: serial(keygen, s.ecdsap256.sign),
        text: `keygen ${fmt(keygen)}/s (native ECDH.generateKeys ${fmt(native)}/s, openssl ecdhp256 ${fmt(s.ecdhp256.ops)}/s) + CA sign ${fmt(s.ecdsap256.sign)}/s (openssl ecdsap256)`,
      };
    },
  }),
);

log('ed25519: rounds of openssl speed ed25519/ecdsap256 and inline issuance ...');
warmUp((id) => issueLeaf(ca, { ...leafOptions, keyAlgorithm: 'ed25519', spiffeId: id }));
rows.push(
  measureRounds('ed25519', {
    speed: ['ecdsap256', 'ed25519'],
    issue: () => issueLeaf(ca, { ...leafOptions, keyAlgorithm: 'ed25519', spiffeId: spiffeId() }),
    nativeKeygen: () => generateKeyPairSync('ed25519'),
    limit: (s, native) => {
      const keygen = Math.max(native, s.ed25519.sign);
      return {
        value: serial(keygen, s.ecdsap256.sign),
        text: `keygen ${fmt(keygen)}/s (native generateKeyPairSync ${fmt(native)}/s, openssl ed25519 sign ${fmt(s.ed25519.sign)}/s) + CA sign ${fmt(s.ecdsap256.sign)}/s (openssl ecdsap256)`,
      };
    },
  }),
);

log(`node-forge RSA-2048 baseline (${FORGE_ITERATIONS} certificates) and openssl speed rsa2048 ...`);
const forgeRun = measureForge();
const rsa2048Speed = opensslSpeed(['rsa2048'], 3).rsa2048;
const rsaKeygen = rate(
  () => generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 }),
  1000,
);

for (const [algorithm, warm, getPool] of [
  ['rsa-2048', rsa2048Warm, () => rsa2048Pool],
  ['rsa-3072', rsa3072Warm, () => rsa3072Pool],
]) {
  log(`${algorithm}: waiting for the pool (${POOL_SIZE[algorithm]} keys) ...`);
  const warmSeconds = await warm;
  const keygenRate = POOL_SIZE[algorithm] / warmSeconds;
  log(`${algorithm}: draining the warm pool, then rounds of openssl speed ecdsap256 and issuance ...`);
  const drained = await drainPool(getPool(), algorithm);
  const keys = drained.keys;
  let k = 0;
  const row = measureRounds(algorithm, {
    speed: ['ecdsap256'],
    // The pool is empty now and refills at ~keygen speed; the rounds reuse its keys (issuance cost does not
    // depend on which key it encodes) so there are enough samples. Every certificate is still distinct.
    issue: () =>
      issueLeaf(ca, {
        ...leafOptions,
        keyAlgorithm: algorithm,
        key: keys[k++ % keys.length],
        spiffeId: spiffeId(),
      }),
    limit: (s) => ({
      value: s.ecdsap256.sign,
      text: `CA sign ${fmt(s.ecdsap256.sign)}/s (openssl ecdsap256); keys from the pool, warmed in ${warmSeconds.toFixed(1)} s by one worker (${keygenRate.toFixed(1)} keys/s)`,
    }),
  });
  row.pool = {
    size: POOL_SIZE[algorithm],
    warmSeconds: round(warmSeconds, 1),
    keygenPerSecond: round(keygenRate, 2),
    drainWallCertsPerSecond: round(drained.wallRate, 0),
    drainP99Ms: round(drained.p99, 4),
  };
  rows.push(row);
  if (algorithm === 'rsa-2048') {
    const limit = serial(rsaKeygen, rsa2048Speed.sign);
    rows.push({
      algorithm: 'node-forge rsa-2048',
      certsPerSecond: round(forgeRun.rate, 2),
      p50Ms: round(forgeRun.p50, 1),
      p99Ms: round(forgeRun.p99, 1),
      limitCertsPerSecond: round(limit, 1),
      shareOfLimit: round(forgeRun.rate / limit, 3),
      samples: forgeRun.samples,
      limitFrom: `keygen ${rsaKeygen.toFixed(1)}/s (native generateKeyPairSync) + CA sign ${fmt(rsa2048Speed.sign)}/s (openssl rsa2048; forge signs with an RSA-2048 CA)`,
    });
  }
}
await Promise.all([rsa2048Pool.close(), rsa3072Pool?.close()]);

const order = ['ecdsa-p256', 'ed25519', 'rsa-2048', 'rsa-3072', 'node-forge rsa-2048'];
rows.sort((a, b) => order.indexOf(a.algorithm) - order.indexOf(b.algorithm));
const ecRow = rows.find((r) => r.algorithm === 'ecdsa-p256');
const rsaRow = rows.find((r) => r.algorithm === 'rsa-2048');
const targets = {
  ecdsaCertsPerSecond: { target: TARGETS.ecdsaCertsPerSecond, measured: ecRow.certsPerSecond },
  ecdsaShareOfLimit: { target: TARGETS.ecdsaShareOfLimit, measured: ecRow.shareOfLimit },
  rsa2048CertsPerSecond: { target: TARGETS.rsa2048CertsPerSecond, measured: rsaRow.certsPerSecond },
};
for (const t of Object.values(targets)) t.met = t.measured >= t.target;

printTable();
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  RESULTS,
  `${JSON.stringify(
    {
      command: 'npm run bench:pki',
      date: new Date().toISOString(),
      node: process.version,
      openssl: process.versions.openssl,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      ca: 'ecdsa-p256 (the default); node-forge row: RSA-2048 CA',
      leaf: 'SPIFFE ID + 4 DNS SANs; PEM certificate + PKCS#8 PEM key',
      clock: `certsPerSecond per second of ${CPU_CLOCK} (openssl speed: CPU user time); p50Ms/p99Ms wall clock`,
      limitFormula: '1/(1/keygen + 1/sign); RSA from a warm pool: the CA sign rate',
      rounds: ROUNDS,
      poolSize: POOL_SIZE,
      results: rows,
      opensslSpeedRounds: speedLog,
      targets,
      durationSeconds: round((performance.now() - started) / 1000, 1),
    },
    null,
    2,
  )}\n`,
);
log(`wrote ${RESULTS} in ${((performance.now() - started) / 1000).toFixed(0)} s`);

// ---------------------------------------------------------------------------------------------------------------

/**
 * ROUNDS[algorithm] rounds of: `openssl speed -seconds 1` for `speed`, native keygen (if any), then ROUND_MS of issuance.
 * Reports the median rate, the median limit and the median of the per-round shares.
 */
function measureRounds(algorithm, { speed, issue, nativeKeygen, limit }) {
  const samples = [];
  const perRound = [];
  const rounds = ROUNDS[algorithm];
  for (let r = 0; r < rounds; r++) {
    const s = opensslSpeed(speed, 1);
    const native = nativeKeygen === undefined ? 0 : rate(nativeKeygen, KEYGEN_MS);
    const cpu0 = cpuSeconds();
    const end = performance.now() + ROUND_MS;
    let count = 0;
    let t0 = performance.now();
    while (t0 < end) {
      issue();
      const t1 = performance.now();
      samples.push(t1 - t0);
      t0 = t1;
      count++;
    }
    const certsPerSecond = count / (cpuSeconds() - cpu0);
    const l = limit(s, native);
    perRound.push({ certsPerSecond, limit: l.value, share: certsPerSecond / l.value, text: l.text });
  }
  const mid = (key) => median(perRound.map((p) => p[key]));
  const midRound = perRound.slice().sort((a, b) => a.limit - b.limit)[Math.floor(rounds / 2)];
  const { p50, p99 } = percentiles(samples);
  return {
    algorithm,
    certsPerSecond: round(mid('certsPerSecond'), 0),
    p50Ms: round(p50, 4),
    p99Ms: round(p99, 4),
    limitCertsPerSecond: round(mid('limit'), 0),
    shareOfLimit: round(mid('share'), 3),
    samples: samples.length,
    limitFrom: midRound.text,
    roundShares: perRound.map((p) => round(p.share, 3)),
  };
}

/** Drains a warm pool: `await take()` + issue for every key, by the wall clock. Returns the keys for reuse. */
async function drainPool(pool, algorithm) {
  const keys = [];
  const samples = [];
  const start = performance.now();
  let t0 = start;
  for (let n = 0; n < POOL_SIZE[algorithm]; n++) {
    const key = await pool.take();
    issueLeaf(ca, { ...leafOptions, keyAlgorithm: algorithm, key, spiffeId: spiffeId() });
    keys.push(key);
    const t1 = performance.now();
    samples.push(t1 - t0);
    t0 = t1;
  }
  return { keys, wallRate: keys.length / ((t0 - start) / 1000), ...percentiles(samples) };
}

function measureForge() {
  const { pki, md } = forge;
  const caKeys = pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const caCert = pki.createCertificate();
  caCert.publicKey = caKeys.publicKey;
  caCert.serialNumber = '01';
  caCert.validity.notBefore = now;
  caCert.validity.notAfter = new Date(now.getTime() + 365 * 86_400_000);
  const caName = [{ name: 'commonName', value: 'forge root' }];
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caKeys.privateKey, md.sha256.create());
  const caKeyId = caCert.generateSubjectKeyIdentifier().getBytes();
  const samples = [];
  const cpu0 = cpuSeconds();
  let t0 = performance.now();
  for (let n = 0; n < FORGE_ITERATIONS; n++) {
    const keys = pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
    const cert = pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = `1${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
    cert.validity.notBefore = new Date(now.getTime() - 60_000);
    cert.validity.notAfter = new Date(now.getTime() + 86_400_000);
    cert.setSubject([{ name: 'commonName', value: `workload-${n}.shop` }]);
    cert.setIssuer(caName);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: caKeyId },
      {
        name: 'subjectAltName',
        altNames: [{ type: 6, value: IDS[n] }, ...DNS.map((value) => ({ type: 2, value }))],
      },
    ]);
    cert.sign(caKeys.privateKey, md.sha256.create());
    pki.certificateToPem(cert);
    pki.privateKeyInfoToPem(pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(keys.privateKey)));
    const t1 = performance.now();
    samples.push(t1 - t0);
    t0 = t1;
  }
  return { rate: samples.length / (cpuSeconds() - cpu0), samples: samples.length, ...percentiles(samples) };
}

/** `openssl speed -seconds N -mr` for several algorithms; rates per CPU user second. */
function opensslSpeed(algorithms, seconds) {
  const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), '-mr', ...algorithms], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = {};
  for (const line of out.split('\n')) {
    const f = line.split(':');
    if (f[0] === '+F4' && f[2] === '256') result.ecdsap256 = { sign: Number(f[3]), verify: Number(f[4]) };
    if (f[0] === '+F5' && f[2] === '256') result.ecdhp256 = { ops: Number(f[3]) };
    if (f[0] === '+F6' && f[3] === 'Ed25519') result.ed25519 = { sign: Number(f[4]), verify: Number(f[5]) };
    if (f[0] === '+F2' && f[2] === '2048') result.rsa2048 = { sign: Number(f[3]), verify: Number(f[4]) };
  }
  for (const algorithm of algorithms) {
    if (result[algorithm] === undefined)
      throw new Error(`openssl speed ${algorithm}: no result line in its output`);
  }
  speedLog.push({ seconds, ...result });
  return result;
}

function warmUp(issueWith) {
  const until = performance.now() + 300;
  while (performance.now() < until) issueWith(spiffeId());
}

/** Operations per CPU second of `fn` over `ms` of wall time. */
function rate(fn, ms) {
  fn();
  const cpu0 = cpuSeconds();
  const end = performance.now() + ms;
  let count = 0;
  while (performance.now() < end) {
    fn();
    count++;
  }
  return count / (cpuSeconds() - cpu0);
}

function serial(keygenRate, signRate) {
  return 1 / (1 / keygenRate + 1 / signRate);
}

function percentiles(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))];
  return { p50: at(0.5), p99: at(0.99) };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function fmt(value) {
  return Math.round(value).toLocaleString('en-US');
}

function printTable() {
  const header = ['algorithm', 'certs/s', 'p50 ms', 'p99 ms', 'limit/s', 'of limit', 'samples'];
  const lines = rows.map((r) => [
    r.algorithm,
    r.certsPerSecond >= 100 ? fmt(r.certsPerSecond) : r.certsPerSecond.toFixed(2),
    r.p50Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    r.limitCertsPerSecond >= 100 ? fmt(r.limitCertsPerSecond) : r.limitCertsPerSecond.toFixed(1),
    `${(r.shareOfLimit * 100).toFixed(0)} %`,
    String(r.samples),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const met = (t) => (t.met ? 'met' : 'NOT met');
  const out = [
    `PKI issuance on one core: node ${process.version}, OpenSSL ${process.versions.openssl}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
    'CA ecdsa-p256 (node-forge row: RSA-2048 CA); leaf = SPIFFE ID + 4 DNS SANs, PEM certificate + PKCS#8 key',
    `certs/s per second of ${CPU_CLOCK} (openssl speed: CPU user time); p50/p99 wall clock; 3-5 paired rounds`,
    '',
    format(header),
    format(widths.map((w) => '-'.repeat(w))),
    ...lines.map(format),
    '',
    'limit = 1/(1/keygen + 1/sign); from a warm pool: the CA sign rate (median round):',
    ...rows.map((r) => `  ${r.algorithm}: ${r.limitFrom}`),
    '',
    `targets: ecdsa-p256 >= ${fmt(TARGETS.ecdsaCertsPerSecond)}/s ${met(targets.ecdsaCertsPerSecond)}; ` +
      `>= ${TARGETS.ecdsaShareOfLimit * 100} % of its limit ${met(targets.ecdsaShareOfLimit)}; ` +
      `rsa-2048 from a warm pool >= ${fmt(TARGETS.rsa2048CertsPerSecond)}/s ${met(targets.rsa2048CertsPerSecond)}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
