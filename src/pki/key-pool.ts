/**
 * A pool of pre-generated leaf keys. RSA keys take 50–800 ms each, so they are generated ahead of demand in
 * worker threads; `take()` resolves at once while the pool is warm. ECDSA P-256 and Ed25519 keys are cheap and
 * are generated inline on take().
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, InjectorError } from '../core/errors.js';
import type { KeyAlgorithm } from '../core/key-algorithm.js';
import { generateKeyPair, keyMaterial, type KeyMaterial } from './keys.js';

/** Options of `createKeyPool`. */
export interface KeyPoolOptions {
  readonly algorithm: KeyAlgorithm;
  /** Keys kept ready (RSA only). Default 32. */
  readonly size?: number;
  /** Worker threads generating keys (RSA only). Default 1: the other core stays with the event loop. */
  readonly workers?: number;
}

/** Pre-generated keys for one algorithm. */
export interface KeyPool {
  readonly algorithm: KeyAlgorithm;
  /** Keys ready now. */
  readonly available: number;
  /** A key: at once when one is ready, otherwise as soon as a worker finishes one. Each key is handed out once. */
  take(): Promise<KeyMaterial>;
  /** Resolves when the pool holds `size` keys (at once for inline algorithms). */
  warm(): Promise<void>;
  /** Stops the workers; pending take() and warm() calls reject. Idempotent. */
  close(): Promise<void>;
}

/**
 * Runs inside each worker (CommonJS, `eval`, so it works from dist/ and from TypeScript sources alike). It uses
 * the synchronous generator on purpose: the async one would run on libuv's shared threadpool and starve the
 * main thread's fs and DNS work; a worker thread blocks only itself.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { generateKeyPairSync } = require('node:crypto');
parentPort.on('message', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: workerData.modulusLength,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const spki = new Uint8Array(publicKey).buffer;
  const pkcs8 = new Uint8Array(privateKey).buffer;
  privateKey.fill(0);
  parentPort.postMessage({ spki, pkcs8 }, [spki, pkcs8]);
});
`;

/** Creates a pool; for RSA it starts filling in the background right away. Call close() when done. */
export function createKeyPool(options: KeyPoolOptions): KeyPool {
  const { algorithm } = options;
  if (algorithm === 'ecdsa-p256' || algorithm === 'ed25519') return inlinePool(algorithm);
  return workerPool(algorithm, options.size ?? 32, options.workers ?? 1);
}

function inlinePool(algorithm: KeyAlgorithm): KeyPool {
  let closed = false;
  return {
    algorithm,
    available: Number.POSITIVE_INFINITY,
    take: () =>
      closed ? Promise.reject(closedError(algorithm)) : Promise.resolve(generateKeyPair(algorithm)),
    warm: () => Promise.resolve(),
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

interface Waiter {
  resolve: (key: KeyMaterial) => void;
  reject: (err: unknown) => void;
}

function workerPool(algorithm: 'rsa-2048' | 'rsa-3072', size: number, workerCount: number): KeyPool {
  if (!Number.isInteger(size) || size < 1) {
    throw new InjectorError(ErrorCode.UsageInvalid, `key pool size: expected an integer >= 1, got ${size}`);
  }
  if (!Number.isInteger(workerCount) || workerCount < 1) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `key pool workers: expected an integer >= 1, got ${workerCount}`,
    );
  }
  const modulusLength = algorithm === 'rsa-2048' ? 2048 : 3072;
  const ready: KeyMaterial[] = [];
  const takers: Waiter[] = [];
  const warmers: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  let requested = 0;
  let next = 0;
  let failure: InjectorError | undefined;
  let closed = false;

  const workers = Array.from({ length: workerCount }, () => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modulusLength } });
    worker.on('message', (msg: { spki: ArrayBuffer; pkcs8: ArrayBuffer }) => {
      requested--;
      const key = keyMaterial(algorithm, Buffer.from(msg.spki), Buffer.from(msg.pkcs8));
      const taker = takers.shift();
      if (taker !== undefined) taker.resolve(key);
      else ready.push(key);
      if (ready.length >= size) for (const w of warmers.splice(0)) w.resolve();
      refill();
    });
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => {
      if (!closed) fail(new Error(`key worker exited with code ${code}`));
    });
    return worker;
  });

  function fail(err: unknown): void {
    if (failure !== undefined || closed) return;
    const error = new InjectorError(ErrorCode.PkiEncoding, `${algorithm} key pool failed: ${String(err)}`, {
      cause: err,
    });
    failure = error;
    rejectAll(error);
    void terminate();
  }

  function rejectAll(err: InjectorError): void {
    for (const t of takers.splice(0)) t.reject(err);
    for (const w of warmers.splice(0)) w.reject(err);
    updateRef();
  }

  /** Keep the process alive only while someone waits on the pool. */
  function updateRef(): void {
    const waiting = takers.length > 0 || warmers.length > 0;
    for (const worker of workers) {
      if (waiting) worker.ref();
      else worker.unref();
    }
  }

  function refill(): void {
    if (closed || failure !== undefined) return;
    const wanted = size + takers.length - ready.length - requested;
    for (let i = 0; i < wanted; i++) {
      const worker = workers[next++ % workers.length];
      worker?.postMessage(0);
      requested++;
    }
    updateRef();
  }

  async function terminate(): Promise<void> {
    await Promise.all(workers.map((w) => w.terminate()));
  }

  refill();

  return {
    algorithm,
    get available() {
      return ready.length;
    },
    take() {
      if (closed) return Promise.reject(closedError(algorithm));
      if (failure !== undefined) return Promise.reject(failure);
      const key = ready.shift();
      if (key !== undefined) {
        refill();
        return Promise.resolve(key);
      }
      return new Promise<KeyMaterial>((resolve, reject) => {
        takers.push({ resolve, reject });
        refill();
      });
    },
    warm() {
      if (closed) return Promise.reject(closedError(algorithm));
      if (failure !== undefined) return Promise.reject(failure);
      if (ready.length >= size) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        warmers.push({ resolve, reject });
        updateRef();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      rejectAll(closedError(algorithm));
      ready.length = 0;
      await terminate();
    },
  };
}

function closedError(algorithm: KeyAlgorithm): InjectorError {
  return new InjectorError(ErrorCode.UsageInvalid, `${algorithm} key pool is closed; create a new pool`);
}
