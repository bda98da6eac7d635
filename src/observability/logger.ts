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
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
