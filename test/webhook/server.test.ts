/**
 * The webhook over real HTTPS (a serving cert made with the openssl CLI): every case of docs/faults.md A and B, and
 * after each test the process must still answer a good review and its health probe.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { applyPatch, type Operation } from 'rfc6902';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookServer, type RunningWebhook } from '../../src/webhook/server.js';
import { podReview, simplePod } from '../core/helpers.js';
import {
  captureLogger,
  decodePatch,
  makeServingCert,
  type ReviewAnswer,
  secretVolume,
  send,
  tempDir,
  testConfig,
} from './helpers.js';

let webhook: RunningWebhook;
let ca: string;
let volume: ReturnType<typeof secretVolume>;
const logs = captureLogger();

function post(body: unknown, path = '/mutate', headers?: Record<string, string | number>) {
  return send(webhook.port, {
    ca,
    path,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(headers === undefined ? {} : { headers }),
  });
}

async function review(body: unknown, path = '/mutate'): Promise<ReviewAnswer> {
  const res = await post(body, path);
  expect(res.status, res.text).toBe(200);
  return res.json<ReviewAnswer>();
}

function probe(path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port: webhook.probePort, path }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    })
      .on('error', reject)
      .end();
  });
}

/** 300 TCP connections that never start TLS, and 30 TLS connections whose request headers never finish. */
async function holdConnections(port: number): Promise<Socket[]> {
  const idle: Socket[] = [];
  for (let i = 0; i < 300; i++) {
    const socket = netConnect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    idle.push(socket);
  }
  const slow = await Promise.all(
    Array.from(
      { length: 30 },
      () =>
        new Promise<Socket>((resolve) => {
          const s = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca }, () => {
            s.write('POST /mutate HTTP/1.1\r\nHost: x\r\n');
            resolve(s);
          });
          s.on('error', () => undefined);
          s.resume(); // read the server's 408 and FIN, or 'close' never fires
        }),
    ),
  );
  return [...idle, ...slow];
}

beforeAll(async () => {
  const dir = tempDir();
  const pair = makeServingCert(dir, 'webhook-a');
  ca = pair.cert;
  volume = secretVolume(pair);
  webhook = await startWebhookServer(testConfig(volume.certFile, volume.keyFile), {
    logger: logs.logger,
    randomSuffix: () => 'x7k2pmq4wz',
    limits: {
      handshakeTimeoutMs: 1_000,
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 4_000,
      timeoutCheckIntervalMs: 200,
    },
  });
});

afterAll(async () => {
  await webhook.close();
  volume.cleanup();
});

afterEach(async () => {
  const answer = await review(podReview(simplePod('still-serving'), { uid: 'after-each' }));
  expect(answer.response).toMatchObject({ uid: 'after-each', allowed: true, patchType: 'JSONPatch' });
  expect((await probe('/healthz')).status).toBe(200);
});

describe('A: the request envelope', () => {
  it('A1 refuses a body that is not JSON with 400', async () => {
    const res = await post('{"apiVersion": nope');
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_review' });
  });

  it('A2 refuses an empty body with 400', async () => {
    expect((await post('')).status).toBe(400);
    const noBody = await send(webhook.port, { ca, headers: {} });
    expect(noBody.status).toBe(400);
  });

  it('A3 refuses a content type that is not JSON with 415', async () => {
    const body = JSON.stringify(podReview(simplePod()));
    expect((await post(body, '/mutate', { 'content-type': 'text/plain' })).status).toBe(415);
    expect(
      (await post(body, '/mutate', { 'content-type': 'application/x-www-form-urlencoded' })).status,
    ).toBe(415);
  });

  it('A4 answers 413 to a 12 MiB body before reading it', async () => {
    const size = 12 * 1024 * 1024;
    const result = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0;
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: webhook.port,
          servername: 'localhost',
          ca,
          method: 'POST',
          path: '/mutate',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': size },
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, sent });
          req.destroy();
        },
      );
      req.on('error', (err) => (sent > 0 ? undefined : reject(err)));
      // Send only the first MiB: the answer must come without the other 11.
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      sent += chunk.length;
      req.write(chunk);
    });
    expect(result.status).toBe(413);
    expect(result.sent).toBeLessThan(size);
  });

  it('A4 answers 413 to an oversized chunked body (no content-length) once the limit is crossed', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: webhook.port,
          servername: 'localhost',
          ca,
          method: 'POST',
          path: '/mutate',
          agent: false,
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      let written = 0;
      req.on('error', (err) => (written > 6 * 1024 * 1024 ? undefined : reject(err)));
      const pump = (): void => {
        while (written < 12 * 1024 * 1024 && !req.destroyed) {
          written += 256 * 1024;
          if (!req.write(Buffer.alloc(256 * 1024, 0x20))) {
            req.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    expect(status).toBe(413);
  });

  it('A5 patches a legitimate 2.9 MiB pod', async () => {
    const pod = simplePod('big');
    const spec = pod['spec'] as { containers: { env?: unknown[] }[] };
    spec.containers[0]!.env = [{ name: 'BIG', value: 'x'.repeat(2.9 * 1024 * 1024) }];
    const answer = await review(podReview(pod, { uid: 'big' }));
    expect(answer.response).toMatchObject({ uid: 'big', allowed: true, patchType: 'JSONPatch' });
  });

  it('A6 refuses JSON nested 100k levels with 400, no stack overflow', async () => {
    const deep = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const res = await post(deep);
    expect(res.status).toBe(400);
    expect(res.text).toContain('deeper');
  });

  it('A7 refuses __proto__ and constructor.prototype keys without polluting anything', async () => {
    const base = JSON.stringify(podReview(simplePod()));
    for (const body of [
      base.replace('"metadata":{', '"metadata":{"__proto__":{"polluted":true},'),
      base.replace('"metadata":{', '"metadata":{"constructor":{"prototype":{"polluted":true}},'),
    ]) {
      expect((await post(body)).status).toBe(400);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('A8 answers v1beta1 in v1beta1, and refuses unknown versions', async () => {
    const answer = await review(
      podReview(simplePod(), { apiVersion: 'admission.k8s.io/v1beta1', uid: 'beta' }),
    );
    expect(answer.apiVersion).toBe('admission.k8s.io/v1beta1');
    expect(answer.response).toMatchObject({ uid: 'beta', patchType: 'JSONPatch' });
    const v1 = await review(podReview(simplePod(), { uid: 'v1' }));
    expect(v1.apiVersion).toBe('admission.k8s.io/v1');
    expect((await post({ ...podReview(simplePod()), apiVersion: 'admission.k8s.io/v2' })).status).toBe(400);
  });

  it('A9 A10 A11 A16 refuse a wrong kind, no request, no uid, a null object on CREATE with 400', async () => {
    const good = podReview(simplePod());
    const { uid: _uid, ...noUid } = good.request;
    for (const body of [
      { ...good, kind: 'Pod' },
      { apiVersion: good.apiVersion, kind: good.kind },
      { ...good, request: noUid },
      podReview(null),
    ]) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_review' });
    }
  });

  it('A12 A13 echoes the uid; an already-injected pod gets neither patch nor patchType', async () => {
    const first = await review(podReview(simplePod('twice'), { uid: 'one' }));
    const injected = structuredClone(simplePod('twice'));
    applyPatch(injected, decodePatch(first) as Operation[]);
    const second = await review(podReview(injected, { uid: 'two' }));
    expect(second.response).toEqual({ uid: 'two', allowed: true });
  });

  it('A14 allows a request for something that is not a pod, and counts it', async () => {
    const answer = await review(
      podReview(
        { kind: 'Deployment' },
        { uid: 'deploy', resource: { group: 'apps', version: 'v1', resource: 'deployments' } },
      ),
    );
    expect(answer.response).toEqual({ uid: 'deploy', allowed: true });
    const metrics = await probe('/metrics');
    expect(metrics.text).toMatch(
      /mtls_injector_admissions_total\{result="allowed",reason="not_a_pod",endpoint="\/mutate"\} [1-9]/,
    );
  });

  it('A15 allows a subresource request untouched', async () => {
    const answer = await review(
      podReview(simplePod(), { uid: 'sub', subResource: 'status', operation: 'UPDATE' }),
    );
    expect(answer.response).toEqual({ uid: 'sub', allowed: true });
  });

  it('A17 keeps serving while hundreds of slow clients hold connections, and drops them', async () => {
    // Serving: on a webhook whose limits outlast the test, so every slow client is certainly still connected
    // when the review is answered; no clock is read.
    const patient = await startWebhookServer(testConfig(volume.certFile, volume.keyFile), {
      logger: captureLogger().logger,
      limits: { handshakeTimeoutMs: 120_000, headersTimeoutMs: 120_000, requestTimeoutMs: 120_000 },
    });
    try {
      const held = await holdConnections(patient.port);
      const res = await send(patient.port, {
        ca,
        body: JSON.stringify(podReview(simplePod('busy'), { uid: 'busy' })),
      });
      expect(res.status).toBe(200);
      expect(res.json<ReviewAnswer>().response.uid).toBe('busy');
      expect(held.filter((s) => s.destroyed)).toHaveLength(0);
      for (const s of held) s.destroy();
    } finally {
      await patient.close();
    }

    // Dropping: the shared webhook's 1 s handshake and header limits close every one of them (or the test
    // times out).
    const held = await holdConnections(webhook.port);
    const closed = (s: Socket) =>
      new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
    await Promise.all(held.map(closed));
  }, 15_000);

  it('A18 honours ?timeout=: a body still missing at the deadline is dropped, well before the server limit', async () => {
    for (const timeout of ['10s', '1m0s', '500ms', '0s', 'garbage']) {
      expect((await post(podReview(simplePod()), `/mutate?timeout=${timeout}`)).status, timeout).toBe(200);
    }

    const dropped = (): number =>
      logs.lines().filter((l) => l['msg'] === 'request deadline passed before the body arrived; dropped')
        .length;
    const before = dropped();
    const outcome = await new Promise<string>((resolve) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: webhook.port,
          servername: 'localhost',
          ca,
          method: 'POST',
          path: '/mutate?timeout=1s',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': 1000 },
        },
        (res) => resolve(`status ${res.statusCode}`),
      );
      req.on('error', () => resolve('dropped'));
      req.write('{"apiVersion":');
    });
    expect(outcome).toBe('dropped');
    // Dropped by the deadline sweep on the 1 s the API server asked for, not by the 4 s request limit.
    expect(dropped()).toBe(before + 1);
    const line = logs
      .lines()
      .filter((l) => l['msg'] === 'request deadline passed before the body arrived; dropped')
      .at(-1);
    expect(line).toMatchObject({ endpoint: '/mutate', timeoutMs: 1000 });
    expect((await probe('/metrics')).text).toMatch(/reason="deadline_exceeded",endpoint="\/mutate"\} [1-9]/);
  });

  it('answers 404 elsewhere and to other methods', async () => {
    expect((await send(webhook.port, { ca, method: 'GET' })).status).toBe(404);
    expect((await post(podReview(simplePod()), '/validate')).status).toBe(404);
  });
});

describe('B: operations and flags', () => {
  it('B1 B2 allows UPDATE, DELETE and CONNECT without a patch', async () => {
    for (const operation of ['UPDATE', 'DELETE', 'CONNECT'] as const) {
      const object = operation === 'UPDATE' ? simplePod() : null;
      const answer = await review(podReview(object, { uid: operation, operation }));
      expect(answer.response).toEqual({ uid: operation, allowed: true });
    }
  });

  it('B3 gives a dry run the same patch', async () => {
    const wet = await review(podReview(simplePod('dry'), { uid: 'wet' }));
    const dry = await review(podReview(simplePod('dry'), { uid: 'dry', dryRun: true }));
    expect(dry.response.patch).toBe(wet.response.patch);
  });

  it('B4 on reinvocation mounts only into the container another webhook added', async () => {
    const pod = simplePod('reinvoked');
    const first = await review(podReview(pod, { uid: 'first' }));
    applyPatch(pod, decodePatch(first) as Operation[]);
    (pod['spec'] as { containers: unknown[] }).containers.push({ name: 'proxy', image: 'proxy:1' });
    const again = await review(podReview(pod, { uid: 'again' }));
    const paths = decodePatch(again).map((op) => op.path);
    expect(paths).toEqual([
      '/spec/containers/1/volumeMounts',
      '/spec/containers/1/env',
      '/metadata/annotations/mtls-injector.io~1status',
    ]);
  });

  it('B5 answers the same pod under a new uid identically', async () => {
    const a = await review(podReview(simplePod('same'), { uid: 'uid-a' }));
    const b = await review(podReview(simplePod('same'), { uid: 'uid-b' }));
    expect(b.response).toEqual({ ...a.response, uid: 'uid-b' });
  });
});

describe('modes, probes and logs', () => {
  it('allows an opt-out on /mutate with a warning and denies it on /mutate/strict', async () => {
    const pod = simplePod('opted');
    (pod['metadata'] as Record<string, unknown>)['annotations'] = { 'mtls-injector.io/inject': 'false' };
    const permissive = await review(podReview(pod, { uid: 'p' }));
    expect(permissive.response.allowed).toBe(true);
    expect(permissive.response.warnings?.[0]).toContain('opted out');
    const strict = await review(podReview(pod, { uid: 's' }), '/mutate/strict');
    expect(strict.response).toMatchObject({ uid: 's', allowed: false, status: { code: 403 } });
    expect(strict.response.status?.message).toContain('opt_out_denied');
  });

  it('serves /healthz, /readyz and /metrics on the probe port', async () => {
    expect(await probe('/readyz')).toEqual({ status: 200, text: 'ok\n' });
    const metrics = await probe('/metrics');
    expect(metrics.text).toContain(
      'mtls_injector_admission_duration_seconds_bucket{le="0.002",endpoint="/mutate"}',
    );
    expect(metrics.text).toContain(
      'mtls_injector_admissions_total{result="patched",reason="injected",endpoint="/mutate"}',
    );
    expect(metrics.text).toContain('mtls_injector_serving_certificate_not_after_seconds');
  });

  it('counts the memo: a body first seen is a miss, seen again a template, then hits', async () => {
    const memoCount = async (result: string): Promise<number> => {
      const line = (await probe('/metrics')).text
        .split('\n')
        .find((l) =>
          l.startsWith(`mtls_injector_admission_memo_total{endpoint="/mutate",result="${result}"}`),
        );
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const before = {
      miss: await memoCount('miss'),
      template: await memoCount('template'),
      hit: await memoCount('hit'),
    };
    for (const uid of ['memo-1', 'memo-2', 'memo-3', 'memo-4'])
      await review(podReview(simplePod('memo-counted'), { uid }));
    expect({
      miss: (await memoCount('miss')) - before.miss,
      template: (await memoCount('template')) - before.template,
      hit: (await memoCount('hit')) - before.hit,
    }).toEqual({ miss: 1, template: 1, hit: 2 });
  });

  it('logs one JSON line per review with uid, namespace, pod, decision and reason; names are escaped, no key material', async () => {
    const pod = simplePod('evil');
    (pod['metadata'] as Record<string, unknown>)['name'] = 'evil\n{"forged":true}\u001b[31m';
    await review(podReview(pod, { uid: 'log-me' }));
    const line = logs.lines().find((l) => l['uid'] === 'log-me');
    expect(line).toMatchObject({
      msg: 'admission review',
      namespace: 'team-a',
      pod: 'evil\n{"forged":true}\u001b[31m',
      decision: 'deny',
      reason: 'malformed_pod',
    });
    expect(logs.text()).not.toMatch(/\n\{"forged"/);
    expect(logs.text()).not.toContain('BEGIN');
    expect(logs.lines().some((l) => l['forged'] === true)).toBe(false);
  });
});
