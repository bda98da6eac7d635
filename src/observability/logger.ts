import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/schema.js';

/**
 * A pino JSON logger: one object per line, level as a label, ISO time. Every string is JSON-escaped, so
 * newlines and terminal escape codes in pod names or annotations cannot forge log lines (G14). Callers log
 * names, reasons and fingerprints, never certificate or key material.
 */
export function createLogger(options: {
  readonly level: LogLevel;
  readonly component: string;
  /** Where lines go; stdout when omitted. */
  readonly destination?: DestinationStream;
}): Logger {
  return pino(
    {
      level: options.level,
      base: { component: options.component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous writes (pino's default): one syscall per line on the event loop costs less than handing every
    // line to the libuv threadpool, and nothing is lost when the process exits.
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
