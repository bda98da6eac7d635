/**
 * The webhook's life: the serving cert is reloaded when the Secret volume swaps (watch and poll), a bad pair
 * is refused, readiness follows the certificate, and shutdown finishes in-flight reviews; the `webhook`
 * command maps its short flags and exits 0 on the abort signal.
 */
import { X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PassThrough } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerWebhook } from '../../src/cli/webhook.js';
import type { CliContext } from '../../src/cli/context.js';
import { startWebhookServer, type RunningWebhook } from '../../src/webhook/server.js';
import { podReview, simplePod } from '../core/helpers.js';
import { captureLogger, makeServingCert, secretVolume, tempDir, testConfig } from './helpers.js';

const dir = tempDir();
const pairA = makeServingCert(dir, 'cert-a');
const pairB = makeServingCert(dir, 'cert-b');
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** The fingerprint of the certificate a fresh TLS handshake is served. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false },
      () => {
        const cert = socket.getPeerX509Certificate();
        socket.destroy();
        resolve(cert?.fingerprint256 ?? '');
      },
    );
    socket.on('error', reject);
  });
}

/** The Connection header of the webhook's answer to a keep-alive HTTPS request. */
function connectionHeader(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const agent = new HttpsAgent({ keepAlive: true, rejectUnauthorized: false });
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/healthz', method: 'GET', agent }, (res) => {
      res.resume();
      res.on('end', () => {
        agent.destroy();
        resolve(res.headers.connection);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

function probeStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

const running: RunningWebhook[] = [];
const volumes: ReturnType<typeof secretVolume>[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.close()));
  for (const v of volumes.splice(0)) v.cleanup();
});

async function start(
  volume: ReturnType<typeof secretVolume>,
  deps: { watch: boolean; pollMs: number },
): Promise<RunningWebhook> {
  const webhook = await startWebhookServer(testConfig(volume.certFile, volume.keyFile), {
    logger: captureLogger().logger,
    watchCertificates: deps.watch,
    certPollIntervalMs: deps.pollMs,
  });
  running.push(webhook);
  return webhook;
}

describe('serving certificate hot reload', () => {
  it('serves the new cert after the Secret volume swaps, by directory watch (no restart)', async () => {
    const volume = secretVolume(pairA);
    volumes.push(volume);
    const webhook = await start(volume, { watch: true, pollMs: 600_000 });
    expect(await servedFingerprint(webhook.port)).toBe(fingerprint(pairA.cert));

    volume.swap(pairB);
    await eventually(async () => (await servedFingerprint(webhook.port)) === fingerprint(pairB.cert));
  });

  it('falls back to polling when the filesystem gives no events', async () => {
    const volume = secretVolume(pairA);
    volumes.push(volume);
    const webhook = await start(volume, { watch: false, pollMs: 100 });
    volume.swap(pairB);
    await eventually(async () => (await servedFingerprint(webhook.port)) === fingerprint(pairB.cert));
  });

  it('keeps the current pair when the new files do not match, and takes the next good one', async () => {
    const volume = secretVolume(pairA);
    volumes.push(volume);
    const webhook = await start(volume, { watch: true, pollMs: 100 });
    volume.swap({ cert: pairB.cert, key: pairA.key });
    await eventually(async () => {
      const text = await webhook.metrics.registry.getSingleMetricAsString(
        'mtls_injector_serving_certificate_reloads_total',
      );
      return text.includes('result="failure"');
    });
    expect(await servedFingerprint(webhook.port)).toBe(fingerprint(pairA.cert));
    volume.swap(pairB);
    await eventually(async () => (await servedFingerprint(webhook.port)) === fingerprint(pairB.cert));
  });

  it('is not ready until the certificate files exist, then serves them', async () => {
    const volume = secretVolume(pairA);
    volumes.push(volume);
    const missing = testConfig(`${volume.dir}/later/tls.crt`, `${volume.dir}/later/tls.key`);
    const webhook = await startWebhookServer(missing, {
      logger: captureLogger().logger,
      certPollIntervalMs: 100,
    });
    running.push(webhook);
    expect(await probeStatus(webhook.probePort, '/readyz')).toBe(503);
    expect(await probeStatus(webhook.probePort, '/healthz')).toBe(200);

    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(`${volume.dir}/later`);
    writeFileSync(`${volume.dir}/later/tls.key`, pairB.key);
    writeFileSync(`${volume.dir}/later/tls.crt`, pairB.cert);
    await eventually(async () => (await probeStatus(webhook.probePort, '/readyz')) === 200);
    expect(await servedFingerprint(webhook.port)).toBe(fingerprint(pairB.cert));
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, finishes the review in flight, then resolves', async () => {
    const volume = secretVolume(pairA);
    volumes.push(volume);
    const webhook = await startWebhookServer(testConfig(volume.certFile, volume.keyFile), {
      logger: captureLogger().logger,
    });
    const body = Buffer.from(JSON.stringify(podReview(simplePod('in-flight'), { uid: 'in-flight' })));
    let req: ReturnType<typeof httpsRequest> | undefined;
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req = httpsRequest(
        {
          host: '127.0.0.1',
          port: webhook.port,
          servername: 'localhost',
          ca: pairA.cert,
          method: 'POST',
          path: '/mutate',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, 100));
    });
    await new Promise((r) => setTimeout(r, 100));

    let closed = false;
    const closing = webhook.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    await expect(servedFingerprint(webhook.port)).rejects.toThrow();

    req?.end(body.subarray(100));
    const result = await answer;
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text)).toMatchObject({ response: { uid: 'in-flight', allowed: true } });
    await closing;
    expect(closed).toBe(true);
  });

  it('with webhook.shutdownDelay, stays ready and serves new connections until the delay is over', async () => {
    const volume = secretVolume(pairA);
    volumes.push(volume);
    // The delay ends when the test says so, not on a timer.
    let endDelay = (): void => undefined;
    const delays: number[] = [];
    const webhook = await startWebhookServer(
      testConfig(volume.certFile, volume.keyFile, { shutdownDelay: 7 }),
      {
        logger: captureLogger().logger,
        sleep: (ms) => {
          delays.push(ms);
          return new Promise<void>((resolve) => (endDelay = resolve));
        },
      },
    );
    await eventually(async () => (await probeStatus(webhook.probePort, '/readyz')) === 200);
    expect(await connectionHeader(webhook.port)).toBe('keep-alive');
    let closed = false;
    const closing = webhook.close().then(() => (closed = true));
    expect(delays).toEqual([7000]);
    // During the delay: still ready (a terminating endpoint kube-proxy may fall back to) and serving.
    expect(await probeStatus(webhook.probePort, '/readyz')).toBe(200);
    expect(await servedFingerprint(webhook.port)).toBe(fingerprint(pairA.cert));
    // Every answer during the delay closes its connection, so no keep-alive connection is reused as it closes.
    expect(await connectionHeader(webhook.port)).toBe('close');
    expect(closed).toBe(false);
    endDelay();
    await closing;
    await expect(servedFingerprint(webhook.port)).rejects.toThrow();
  });
});

describe('mtls-injector webhook', () => {
  it('accepts --port/--probe-port/--tls-cert/--tls-key, serves, and exits 0 on the abort signal', async () => {
    const volume = secretVolume(pairA);
    volumes.push(volume);
    const abort = new AbortController();
    const stdout = new PassThrough();
    let logged = '';
    stdout.on('data', (c: Buffer) => (logged += c.toString()));
    const ctx: CliContext = {
      env: {},
      stdout,
      stderr: new PassThrough(),
      signal: abort.signal,
      version: '0.0.0-test',
      readStdin: () => Promise.resolve(''),
    };
    let exitCode: number | undefined;
    const program = new Command('mtls-injector').exitOverride();
    registerWebhook(program, ctx, (code) => (exitCode = code));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const run = program.parseAsync(
      [
        'webhook',
        '--port',
        String(port),
        '--probe-port',
        String(port + 1),
        '--webhook-host',
        '127.0.0.1',
        '--tls-cert',
        volume.certFile,
        '--tls-key',
        volume.keyFile,
        '--log-level',
        'info',
      ],
      { from: 'user' },
    );
    await eventually(async () => (await probeStatus(port + 1, '/readyz').catch(() => 0)) === 200);
    expect(await servedFingerprint(port)).toBe(fingerprint(pairA.cert));
    abort.abort();
    await run;
    expect(exitCode).toBe(0);
    await eventually(() => Promise.resolve(logged.includes('webhook stopped')));
    expect(logged).toContain('"msg":"webhook listening"');
  });

  it('refuses a short flag that disagrees with its long form', async () => {
    const ctx: CliContext = {
      env: {},
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      signal: new AbortController().signal,
      version: '0.0.0-test',
      readStdin: () => Promise.resolve(''),
    };
    const program = new Command('mtls-injector').exitOverride();
    registerWebhook(program, ctx, () => undefined);
    await expect(
      program.parseAsync(['webhook', '--port', '1', '--webhook-port', '2'], { from: 'user' }),
    ).rejects.toThrow(/disagree/);
  });
});
