// CRL cost at scale: size and signing time of the CRL the rotator signs per issuing CA, with 0 to 10,000
// revoked serials, and what the rest of the product pays for it: reading it (mtls-init, check), loading it
// into a node:tls server (an app reloading ca.crl), the bytes ca.crl adds to every managed Secret, and the
// revocation record's size. Writes bench/results/crl.json.
//
//   npm run bench:crl                (ROUNDS=5 samples of ≥ 200 ms each by default)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { generateRootCa } from '../dist/pki/ca.js';
import { buildCrl } from '../dist/pki/crl.js';
import { readCrl } from '../dist/pki/crl-reader.js';
import { MAX_RECORD_BYTES, serializeEntries } from '../dist/model/revocations.js';
import { MAX_SECRET_BYTES } from '../dist/model/secret-data.js';

const SIZES = [0, 100, 1_000, 10_000];
const ALGORITHMS = ['ecdsa-p256', 'rsa-2048', 'ed25519'];
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SAMPLE_MS = 200;
const NOW = new Date();
const HOUR = 3_600_000;

/** CPU time of this thread in ms (Linux), so a busy neighbour does not inflate the figures. */
function cpuMs() {
  return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * ROUNDS samples of `fn`, each repeating it for at least SAMPLE_MS so that short operations are timed over
 * many runs: the median per-run CPU ms and wall ms.
 */
function measure(fn) {
  const cpu = [];
  const wall = [];
  let result;
  for (let i = 0; i < ROUNDS; i++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    let runs = 0;
    do {
      result = fn();
      runs++;
    } while (performance.now() - t0 < SAMPLE_MS);
    wall.push((performance.now() - t0) / runs);
    cpu.push((cpuMs() - c0) / runs);
  }
  return { cpuMs: round(median(cpu)), wallMs: round(median(wall)), result };
}

function round(ms) {
  return ms < 1
    ? Math.round(ms * 1000) / 1000
    : ms < 10
      ? Math.round(ms * 100) / 100
      : Math.round(ms * 10) / 10;
}

/** n entries as `revoke` records them: 16-byte serials like ours, a 24 h leaf, mixed reasons. */
function entries(n) {
  return Array.from({ length: n }, (_, i) => {
    const serial = randomBytes(16);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    return {
      serialHex: serial.toString('hex'),
      revokedAt: new Date(NOW.getTime() - (i % 3600) * 1000),
      reason: i % 3 === 0 ? 'superseded' : 'keyCompromise',
      notAfter: new Date(NOW.getTime() + 12 * HOUR),
    };
  });
}

/** The record's JSON for n entries with realistic names (what `revoke --service-account` writes). */
function recordBytes(list, ski) {
  const rows = list.map((e, i) => ({
    serial: e.serialHex,
    issuer: ski,
    reason: e.reason,
    revokedAt: e.revokedAt.toISOString(),
    notAfter: e.notAfter.toISOString(),
    identity: 'spiffe://cluster.local/ns/payments/sa/checkout-api',
    pod: `payments/checkout-api-7d9c8b6f5-${String(i).padStart(5, '0')}`,
    by: 'system:serviceaccount:security:incident-bot',
    target: 'service-account payments/checkout-api',
  }));
  return Buffer.byteLength(serializeEntries(rows));
}

/** Wall time of `openssl crl -noout -verify` on the CRL: an independent reader checks the signature. */
function opensslVerifyMs(pem, caPem) {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-crl-bench-'));
  try {
    writeFileSync(join(dir, 'ca.crt'), caPem);
    const t0 = performance.now();
    const out = execFileSync('openssl', ['crl', '-noout', '-verify', '-CAfile', join(dir, 'ca.crt')], {
      input: pem,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const ms = performance.now() - t0;
    void out;
    return ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
console.log(
  `CRL cost: node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}; median of ${ROUNDS} samples, ms of main-thread CPU per run (wall)`,
);
console.log('');
console.log(
  'CA          revoked   build+sign ms        DER KB   PEM KB  in Secret KB  of 1 MiB  read ms   tls load ms  record KB',
);
console.log(
  '----------  -------  -------------------  -------  -------  ------------  --------  --------  -----------  ---------',
);
for (const algorithm of ALGORITHMS) {
  const ca = generateRootCa({
    keyAlgorithm: algorithm,
    trustDomain: 'cluster.local',
    lifetimeSeconds: 30 * 86_400,
    now: new Date(NOW.getTime() - HOUR),
  });
  for (const n of SIZES) {
    const list = entries(n);
    const options = {
      crlNumber: 1n,
      thisUpdate: NOW,
      nextUpdate: new Date(NOW.getTime() + 24 * HOUR),
      entries: list,
    };
    const build = measure(() => buildCrl(ca, options));
    const crl = build.result;
    if (crl.listed.length !== n) throw new Error(`expected ${n} entries, got ${crl.listed.length}`);
    const read = measure(() => readCrl(crl.der));
    if (read.result.revoked.size !== n) throw new Error('reader lost entries');
    const tlsLoad = measure(() => createSecureContext({ ca: ca.trustBundlePem, crl: [crl.pem] }));
    const pemBytes = Buffer.byteLength(crl.pem);
    // A Secret's data is base64 of the file: what ca.crl adds to every managed Secret.
    const secretBytes = Math.ceil(pemBytes / 3) * 4;
    const record = recordBytes(list, ca.subjectKeyIdHex);
    const row = {
      algorithm,
      revoked: n,
      buildCpuMs: build.cpuMs,
      buildWallMs: build.wallMs,
      derBytes: crl.der.length,
      pemBytes,
      bytesPerEntry:
        n === 0
          ? null
          : Math.round(
              ((crl.der.length - results.find((r) => r.algorithm === algorithm && r.revoked === 0).derBytes) /
                n) *
                10,
            ) / 10,
      secretDataBytes: secretBytes,
      shareOfSecretLimit: Math.round((secretBytes / MAX_SECRET_BYTES) * 1000) / 1000,
      readCpuMs: read.cpuMs,
      tlsLoadCpuMs: tlsLoad.cpuMs,
      recordBytes: record,
      recordFits: record <= MAX_RECORD_BYTES,
    };
    if (n === SIZES[SIZES.length - 1] && algorithm === 'ecdsa-p256')
      row.opensslVerifyWallMs = round(opensslVerifyMs(crl.pem, ca.certPem));
    results.push(row);
    console.log(
      `${algorithm.padEnd(10)}  ${String(n).padStart(7)}  ${`${build.cpuMs} (${build.wallMs})`.padStart(19)}  ${(crl.der.length / 1024).toFixed(1).padStart(7)}  ${(pemBytes / 1024).toFixed(1).padStart(7)}  ${(secretBytes / 1024).toFixed(1).padStart(12)}  ${`${(row.shareOfSecretLimit * 100).toFixed(1)} %`.padStart(8)}  ${String(read.cpuMs).padStart(8)}  ${String(tlsLoad.cpuMs).padStart(11)}  ${`${(record / 1024).toFixed(0)}${row.recordFits ? '' : '*'}`.padStart(9)}`,
    );
  }
}
const big = results.find((r) => r.algorithm === 'ecdsa-p256' && r.revoked === 10_000);
const perEntry = results.find((r) => r.algorithm === 'ecdsa-p256' && r.revoked === 1_000).recordBytes / 1_000;
const recordCapacity = Math.floor(MAX_RECORD_BYTES / perEntry);
console.log('');
console.log(
  `* over the revocation record's ${MAX_RECORD_BYTES / 1024} KiB: \`revoke\` refuses past ≈ ${recordCapacity} live entries (${perEntry.toFixed(0)} bytes each)`,
);
console.log(
  `10,000 serials, ECDSA P-256 CA: ${(big.pemBytes / 1024).toFixed(0)} KB PEM; in every managed Secret that is ${(big.secretDataBytes / 1024).toFixed(0)} KB of etcd per pod (${((big.secretDataBytes * 10_000) / 1024 ** 3).toFixed(1)} GiB for 10,000 pods); openssl crl -verify took ${big.opensslVerifyWallMs} ms wall`,
);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/crl.json', import.meta.url),
  `${JSON.stringify({ node: process.version, openssl: execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim(), cpus: cpus().length, rounds: ROUNDS, measuredAt: NOW.toISOString(), recordCapacity, results }, null, 2)}\n`,
);
console.log('wrote bench/results/crl.json');
