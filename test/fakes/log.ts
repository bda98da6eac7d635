import type { Log } from '../../src/observability/logger.js';

/** A quiet logger that keeps what was logged, for assertions. */
export function memoryLog(): Log & {
  readonly lines: { level: string; fields: Record<string, unknown>; msg: string }[];
} {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) =>
    lines.push({ level, fields, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}
