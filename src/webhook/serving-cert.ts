import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebhookMetrics } from '../observability/metrics.js';

/** The cert/key pair in use. The PEM text stays in memory only: it is never logged or returned over HTTP. */
export interface ServingPair {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint of the leaf, for logs and tests. */
  readonly fingerprint: string;
  readonly notAfter: Date;
}

/** A serving certificate read from files and re-read when they change. */
export interface ServingCertificate {
  /** The pair in use, or undefined until the files could first be loaded. */
  current(): ServingPair | undefined;
  /** Re-reads the files now; resolves true when a new pair was taken. */
  reload(): Promise<boolean>;
  close(): void;
}

export interface ServingCertificateOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  /** Called with each newly loaded pair (the server swaps its secure context). */
  readonly onChange: (pair: ServingPair) => void;
  /** Poll fallback for filesystems without change events; default 10 s. */
  readonly pollIntervalMs?: number;
  /** Watch the directories for changes (default true); the poll runs either way. */
  readonly watch?: boolean;
}

/**
 * Loads the serving cert and key, then keeps them fresh without a restart. A Kubernetes Secret volume
 * updates by swapping a `..data` symlink inside the mount directory, so the DIRECTORIES are watched (a watch
 * on the file itself would keep pointing at the old inode), with a poll as fallback. A pair that does not
 * load (half-written, key not matching the cert) is refused and the previous one kept.
 */
export async function loadServingCertificate(
  options: ServingCertificateOptions,
): Promise<ServingCertificate> {
  const { logger, metrics } = options;
  let pair: ServingPair | undefined;
  let lastText = '';
  let loading: Promise<boolean> | undefined;

  const loadOnce = async (): Promise<boolean> => {
    let cert: string;
    let key: string;
    try {
      [cert, key] = await Promise.all([
        readFile(options.certFile, 'utf8'),
        readFile(options.keyFile, 'utf8'),
      ]);
    } catch (err) {
      if (pair === undefined || lastText !== 'unreadable') {
        logger.warn(
          { certFile: options.certFile, keyFile: options.keyFile, code: (err as NodeJS.ErrnoException).code },
          'serving certificate files cannot be read; keeping the current pair',
        );
      }
      lastText = 'unreadable';
      metrics.certificateReloads.inc({ result: 'failure' });
      return false;
    }
    const text = `${cert}\u0000${key}`;
    if (text === lastText) return false;
    lastText = text;
    try {
      createSecureContext({ cert, key });
      const x509 = new X509Certificate(cert);
      pair = { cert, key, fingerprint: x509.fingerprint256, notAfter: new Date(x509.validTo) };
    } catch (err) {
      // OpenSSL's messages name the problem ("key values mismatch"), never the key.
      logger.warn(
        { certFile: options.certFile, error: (err as Error).message },
        'serving certificate files do not load; keeping the current pair',
      );
      metrics.certificateReloads.inc({ result: 'failure' });
      return false;
    }
    metrics.certificateReloads.inc({ result: 'success' });
    metrics.certificateNotAfter.set(Math.floor(pair.notAfter.getTime() / 1000));
    logger.info(
      { fingerprint: pair.fingerprint, notAfter: pair.notAfter.toISOString() },
      'serving certificate loaded',
    );
    options.onChange(pair);
    return true;
  };

  // One load at a time; a change during a load triggers one more.
  let again = false;
  const reload = (): Promise<boolean> => {
    if (loading !== undefined) {
      again = true;
      return loading;
    }
    loading = loadOnce().finally(() => {
      loading = undefined;
      if (again) {
        again = false;
        void reload();
      }
    });
    return loading;
  };

  await reload();

  let debounce: NodeJS.Timeout | undefined;
  const onEvent = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void reload(), 50);
    debounce.unref();
  };
  const watchers: FSWatcher[] = [];
  if (options.watch ?? true) {
    for (const dir of new Set([dirname(options.certFile), dirname(options.keyFile)])) {
      try {
        const watcher = watch(dir, { persistent: false }, onEvent);
        watcher.on('error', () => watcher.close());
        watchers.push(watcher);
      } catch {
        // The directory may not exist yet or not support watching: the poll covers it.
      }
    }
  }
  const poll = setInterval(() => void reload(), options.pollIntervalMs ?? 10_000);
  poll.unref();

  return {
    current: () => pair,
    reload,
    close: () => {
      clearInterval(poll);
      clearTimeout(debounce);
      for (const watcher of watchers) watcher.close();
    },
  };
}
