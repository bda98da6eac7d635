import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../src/config/loader.js';
import type { Config } from '../../src/config/schema.js';

/** A self-signed serving cert for localhost/127.0.0.1 made with the openssl CLI (independent of src/pki). */
export function makeServingCert(dir: string, cn: string): { cert: string; key: string } {
  const certFile = join(dir, `${cn}.crt`);
  const keyFile = join(dir, `${cn}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

/**
 * A directory laid out like a Kubernetes Secret volume: `tls.crt` → `..data/tls.crt`, `..data` → a
 * timestamped directory; `swap()` replaces the pair the way the kubelet does (new dir, atomic rename of
 * the `..data` symlink).
 */
export function secretVolume(pair: { cert: string; key: string }): {
  dir: string;
  certFile: string;
  keyFile: string;
  swap(next: { cert: string; key: string }): void;
  cleanup(): void;
} {
  const root = mkdtempSync(join(tmpdir(), 'mtls-webhook-'));
  const dir = join(root, 'tls');
  mkdirSync(dir);
  let generation = 0;
  const write = (next: { cert: string; key: string }): void => {
    generation++;
    const data = join(dir, `..2026_01_01_00_00_0${generation}`);
    mkdirSync(data);
    writeFileSync(join(data, 'tls.crt'), next.cert);
    writeFileSync(join(data, 'tls.key'), next.key);
    symlinkSync(`..2026_01_01_00_00_0${generation}`, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  write(pair);
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  symlinkSync('..data/tls.key', join(dir, 'tls.key'));
  return {
    dir,
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    swap: write,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mtls-certs-'));
}

/** The default config with the webhook on ephemeral ports of 127.0.0.1 and the given files. */
export function testConfig(
  certFile: string,
  keyFile: string,
  overrides: Partial<Config['webhook']> = {},
): Config {
  const base = loadConfig({ env: {} });
  return {
    ...base,
    log: { level: 'info' },
    webhook: {
      ...base.webhook,
      port: 0,
      probePort: 0,
      host: '127.0.0.1',
      tlsCert: certFile,
      tlsKey: keyFile,
      shutdownDelay: 0,
      ...overrides,
    },
  };
}

/** A pino logger whose lines are kept for assertions. */
export function captureLogger(): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'info' }, stream);
  const text = (): string => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One HTTPS request; resolves with the response, whatever its status. */
export function send(
  port: number,
  options: {
    ca: string;
    method?: string;
    path?: string;
    body?: string | Buffer;
    headers?: Record<string, string | number>;
    agent?: Agent;
  },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: options.ca,
        method: options.method ?? 'POST',
        path: options.path ?? '/mutate',
        headers: options.headers ?? { 'content-type': 'application/json' },
        ...(options.agent === undefined ? { agent: false } : { agent: options.agent }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The AdmissionReview response fields tests look at. */
export interface ReviewAnswer {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    patch?: string;
    patchType?: string;
    status?: { code: number; message: string };
    warnings?: string[];
  };
}

export function decodePatch(answer: ReviewAnswer): { op: string; path: string; value?: unknown }[] {
  return answer.response.patch === undefined
    ? []
    : (JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8')) as {
        op: string;
        path: string;
        value?: unknown;
      }[]);
}
