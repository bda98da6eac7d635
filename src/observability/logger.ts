import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/schema.js';
import { DEFAULT_LINE_BATCH, LineBatch, type LineBatchOptions } from './line-batch.js';

/**
 * The structured logger every component writes to: a message and fields. pino's Logger is one; tests pass a
 * memory log. Fields are names, reasons and fingerprints, never certificate or key material.
 */
export interface Log {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/**
 * A pino JSON logger: one object per line, level as a label, ISO time. Every string is JSON-escaped, so
 * newlines and terminal escape codes in pod names or annotations cannot forge log lines (G14). Callers log
 * names, reasons and fingerprints, never certificate or key material. Lines reach the destination in
 * batches (line-batch.ts): within `batch.maxDelayMs`, on `logger.flush()`, and at exit.
 */
export function createLogger(options: {
  readonly level: LogLevel;
  readonly component: string;
  /** Where lines go; stdout when omitted. */
  readonly destination?: DestinationStream;
  /** How lines are batched; `false` writes each line as it is logged. */
  readonly batch?: LineBatchOptions | false;
}): Logger {
  // Synchronous writes (pino's default) of whole batches: one syscall per batch on the event loop costs less
  // than handing lines to the libuv threadpool, and nothing is lost when the process exits.
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  const batch = options.batch ?? DEFAULT_LINE_BATCH;
  return pino(
    {
      level: options.level,
      base: { component: options.component },
      timestamp: isoTimestamp(),
      formatters: { level: (label) => ({ level: label }) },
    },
    batch === false ? destination : new LineBatch(destination, batch),
  );
}

/**
 * pino's `isoTime`, with the date and time up to the second formatted once per second: a new Date and its
 * toISOString for every line were a visible part of the webhook's cost per review. `now` is for tests.
 */
export function isoTimestamp(now: () => number = Date.now): () => string {
  let second = Number.NaN;
  let prefix = '';
  return () => {
    const ms = now();
    const whole = Math.floor(ms / 1000);
    if (whole !== second) {
      second = whole;
      prefix = new Date(whole * 1000).toISOString().slice(0, 20);
    }
    const fraction = ms - whole * 1000;
    return `,"time":"${prefix}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z"`;
  };
}
