/**
 * README's "Measured" table says what bench/results/ holds: each figure is rebuilt here from its results file
 * and compared with the README's cell, so a new benchmark run without a README update (or a README edit
 * without a run) fails, with the text to write.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

type Json = Record<string, unknown>;
function results(name: string): Json {
  return JSON.parse(readFileSync(join(ROOT, 'bench', 'results', name), 'utf8')) as Json;
}
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (fraction: number): string => `${Math.round(fraction * 100)} %`;

interface Row {
  readonly what: string;
  readonly figure: string;
  readonly command: string;
}

/** Every row the table must hold, from the results files. */
function expectedRows(): Row[] {
  const pki = results('pki.json');
  const byAlgorithm = (a: string): Json => (pki['results'] as Json[]).find((r) => r['algorithm'] === a) ?? {};
  const ecdsa = byAlgorithm('ecdsa-p256');
  const rsa = byAlgorithm('rsa-2048');

  const e2e = results('e2e-latency.json');

  const scale = results('rotator-scale.json');
  const limited = (scale['results'] as Json[]).find((r) => r['qps'] === 50) ?? {};
  const qps = limited['qps'] as number;
  expect(limited['simulatedWritesPerSecond'] as number, 'the storm held to writeQps').toBeLessThanOrEqual(
    qps * 1.05,
  );

  const signer = results('signer-rate.json');
  const signerSide = (side: string): Json => signer[side] as Json;

  const admission = results('admission.json');
  const steady = admission['steady500'] as Json;
  const cell = (server: string, body: string, connections: number): Json =>
    (admission['cells'] as Json[]).find(
      (c) => c['server'] === server && c['body'] === body && c['connections'] === connections,
    ) ?? {};
  const median = (summary: unknown): number => (summary as Json)['median'] as number;
  const againstFloor = (body: string, connections: number): string => {
    const comparison =
      (admission['comparisons'] as Json[]).find(
        (c) => c['server'] === 'ours' && c['body'] === body && c['connections'] === connections,
      ) ?? {};
    const ratio = comparison['throughputRatioToFloor'] as Json;
    const ours = cell('ours', body, connections);
    const floor = cell('floor', body, connections);
    const p99 = connections === 1 ? `, p99 ${median(ours['p99Ms']).toFixed(2)} ms` : '';
    const spread =
      connections === 1
        ? ''
        : `, rounds within ±${pct((ours['requestsPerSecond'] as Json)['spread'] as number)} of the median`;
    return `${pct(ratio['median'] as number)} of the floor's req/s (${pct(ratio['min'] as number)}–${pct(ratio['max'] as number)} by round)${p99}${spread}; ${int(median(ours['cpuMicrosPerReview']))} vs ${int(median(floor['cpuMicrosPerReview']))} µs CPU per review`;
  };

  // The admission bench with HashiCorp's vault-k8s as the peer (npm run bench:admission:peer), every pod
  // different, at 1 and 16 connections.
  const peer = results('admission-peer.json');
  const peerMedian = (server: string, key: string, connections: number): number =>
    median(
      ((peer['cells'] as Json[]).find(
        (c) => c['server'] === server && c['body'] === 'varying' && c['connections'] === connections,
      ) ?? {})[key],
    );
  const atBoth = (server: string): string =>
    `${int(peerMedian(server, 'requestsPerSecond', 1))} / ${int(peerMedian(server, 'requestsPerSecond', 16))}`;
  const cpuRange = (server: string): string => {
    const [low, high] = [1, 16].map((n) => peerMedian(server, 'cpuMicrosPerReview', n)).sort((a, b) => a - b);
    return `${int(low ?? NaN)}–${int(high ?? NaN)}`;
  };

  const crl = results('crl.json');
  const crl10k =
    (crl['results'] as Json[]).find((r) => r['algorithm'] === 'ecdsa-p256' && r['revoked'] === 10_000) ?? {};

  return [
    {
      what: 'ECDSA P-256 issuance',
      figure: `${int(ecdsa['certsPerSecond'] as number)} certs/s per core, ${pct(ecdsa['shareOfLimit'] as number)} of the \`openssl speed\` keygen+sign limit`,
      command: '`npm run bench:pki`',
    },
    {
      what: 'RSA-2048 issuance from the warm key pool',
      figure: `${int(rsa['certsPerSecond'] as number)} certs/s`,
      command: '`npm run bench:pki`',
    },
    {
      what: `pod CREATE → Secret present, ${int(e2e['pods'] as number)} pods, real API server`,
      figure: `p50 ${int(e2e['p50Ms'] as number)} ms, p99 ${int(e2e['p99Ms'] as number)} ms`,
      command: '`npm run test:e2e` (`bench/results/e2e-latency.json`)',
    },
    {
      what: `${int(scale['secrets'] as number)} managed pods on one rotator`,
      figure: `startup check ${((limited['startupCheckMs'] as number) / 1000).toFixed(1)} s CPU (${((limited['unsealedStartupCheckMs'] as number) / 1000).toFixed(1)} s before its Secrets are sealed), schedule built in ${((limited['buildScheduleMs'] as number) / 1000).toFixed(1)} s CPU, rotator RSS ${int(limited['rotatorRssMb'] as number)} MB (process peak ${int(limited['peakRssMb'] as number)} MB; the bench's API server in its own process), renewal storm held to writeQps ${qps}`,
      command: '`npm run bench:rotator`',
    },
    {
      what: `rotator issuance per CPU second, ${int(signer['n'] as number)} pods, real API server`,
      figure: `${int(signerSide('podCertificate')['perCpuSecond'] as number)} PodCertificateRequests signed beside ${int(signerSide('secret')['perCpuSecond'] as number)} Secrets issued (${(signerSide('podCertificate')['cpuSeconds'] as number).toFixed(2)} vs ${(signerSide('secret')['cpuSeconds'] as number).toFixed(2)} s CPU)`,
      command: '`npm run bench:signer` (on `npm run e2e:up`)',
    },
    {
      what: 'admission inside the webhook at 500 reviews/s',
      figure: `p99 ≤ ${String(steady['inWebhookP99MsAtMost'])} ms`,
      command: '`npm run bench:admission`',
    },
    ...(['rollout', 'varying'] as const).flatMap((body) =>
      [1, 16].map((connections) => ({
        what: `admission over HTTPS against the stack floor, ${body === 'rollout' ? "a rollout's pods (one template)" : 'every pod different'}, ${connections === 1 ? '1 connection' : `${connections} connections`}`,
        figure: againstFloor(body, connections),
        command: '`npm run bench:admission`',
      })),
    ),
    {
      what: 'admission over HTTPS against HashiCorp vault-k8s v1.6.2, every pod different, 1 / 16 conns',
      figure: `ours ${atBoth('ours')} req/s, vault-k8s ${atBoth('vault-k8s')} allowing without a patch, ${atBoth('vault-k8s+inject')} injecting; ${cpuRange('ours')} vs ${cpuRange('vault-k8s')} and ${cpuRange('vault-k8s+inject')} µs CPU per review`,
      command: '`npm run bench:admission:peer`',
    },
    {
      what: 'CRL of 10,000 revoked serials (ECDSA P-256 CA)',
      figure: `built and signed in ${String(crl10k['buildCpuMs'])} ms CPU, ${int((crl10k['pemBytes'] as number) / 1024)} KB PEM, read back in ${String(crl10k['readCpuMs'])} ms`,
      command: '`npm run bench:crl`',
    },
  ];
}

/** The rows of README's "Measured" table. */
function readmeRows(): Row[] {
  const section = README.split(/^## /m).find((s) => s.startsWith('Measured')) ?? '';
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| what') && !l.startsWith('| ---'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map(([, what = '', figure = '', command = '']) => ({ what, figure, command }));
}

describe('README "Measured"', () => {
  it('holds exactly the figures of bench/results/', () => {
    expect(readmeRows()).toEqual(expectedRows());
  });
});
