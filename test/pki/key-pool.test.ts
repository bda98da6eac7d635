import { describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import { createKeyPool } from '../../src/pki/key-pool.js';
import type { KeyMaterial } from '../../src/pki/keys.js';

describe('createKeyPool', () => {
  it('RSA: fills in worker threads, hands out distinct keys at once when warm, refills', async () => {
    const pool = createKeyPool({ algorithm: 'rsa-2048', size: 3, workers: 2 });
    try {
      await pool.warm();
      expect(pool.available).toBe(3);
      // Warm: each take() hands out a ready key synchronously (the pool is empty right after the three calls)
      // and settles within the microtask queue, before any worker message could be delivered.
      const taking = [pool.take(), pool.take(), pool.take()];
      expect(pool.available).toBe(0);
      let keys: KeyMaterial[] | undefined;
      void Promise.all(taking).then((k) => (keys = k));
      for (let i = 0; i < 5; i++) await Promise.resolve();
      if (keys === undefined) throw new Error('a warm pool made take() wait for a worker');
      expect(new Set(keys.map((k) => k.spki.toString('hex'))).size).toBe(3);
      expect(keys.every((k) => k.algorithm === 'rsa-2048' && k.pkcs8.length > 1000)).toBe(true);
      // An empty pool still serves: take() waits for the next key.
      const fourth = await pool.take();
      expect(fourth.algorithm).toBe('rsa-2048');
      await pool.warm();
      expect(pool.available).toBe(3);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('close() rejects waiters and later calls with a clear error', async () => {
    const pool = createKeyPool({ algorithm: 'rsa-3072', size: 1 });
    const waiting = expect(pool.warm()).rejects.toThrow(/key pool is closed/);
    await pool.close();
    await waiting;
    const err: unknown = await pool.take().catch((e: unknown) => e);
    expect(isInjectorError(err, 'MTLS_ERR_USAGE')).toBe(true);
    await pool.close();
  });

  it('refuses a bad size', () => {
    expect(() => createKeyPool({ algorithm: 'rsa-2048', size: 0 })).toThrow(
      /expected an integer >= 1, got 0/,
    );
  });

  it.each(['ecdsa-p256', 'ed25519'] as const)('%s keys are generated inline', async (algorithm) => {
    const pool = createKeyPool({ algorithm, size: 5 });
    await pool.warm();
    const key = await pool.take();
    expect(key.algorithm).toBe(algorithm);
    await pool.close();
    await expect(pool.take()).rejects.toThrow(/closed/);
  });
});
