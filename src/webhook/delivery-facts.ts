import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { type ClusterFacts, parseClusterFacts } from '../core/delivery.js';

/** What the rotator published about the cluster, read from a mounted file and re-read when it changes. */
export interface DeliveryFactsFile {
  /** The facts in use, or undefined while the file is absent or has never parsed. */
  current(): ClusterFacts | undefined;
  /** Re-reads the file now; resolves true when new facts were taken. */
  reload(): Promise<boolean>;
  close(): void;
}

/**
 * Reads webhook.deliveryFactsFile (the rotator's ConfigMap, mounted) and keeps it fresh like the serving
 * certificate: the directory is watched (ConfigMap volumes swap a `..data` symlink) with a poll as fallback.
 * A file that does not parse is refused and the previous facts kept; a missing file means none yet, so
 * `delivery.mode=auto` gives Secrets until the rotator has published.
 */
export async function loadDeliveryFacts(options: {
  readonly file: string;
  readonly logger: Logger;
  readonly pollIntervalMs?: number;
  readonly watch?: boolean;
}): Promise<DeliveryFactsFile> {
  const { file, logger } = options;
  let facts: ClusterFacts | undefined;
  let lastText: string | undefined;

  const reload = async (): Promise<boolean> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (lastText !== '') {
        logger.info(
          { file, code: (err as NodeJS.ErrnoException).code },
          'delivery facts not published yet; delivery.mode=auto gives Secrets until they are',
        );
      }
      lastText = '';
      return false;
    }
    if (text === lastText) return false;
    lastText = text;
    const parsed = parseClusterFacts(text);
    if (!parsed.ok) {
      logger.warn({ file, error: parsed.message }, 'delivery facts do not parse; keeping the current ones');
      return false;
    }
    facts = parsed.facts;
    logger.info({ file, ...facts }, 'delivery facts loaded');
    return true;
  };

  await reload();
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  if (options.watch ?? true) {
    try {
      watcher = watch(dirname(file), { persistent: false }, () => {
        clearTimeout(debounce);
        debounce = setTimeout(() => void reload(), 50);
        debounce.unref();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // The directory may not exist or not support watching: the poll covers it.
    }
  }
  const poll = setInterval(() => void reload(), options.pollIntervalMs ?? 10_000);
  poll.unref();
  return {
    current: () => facts,
    reload,
    close: () => {
      clearInterval(poll);
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}
