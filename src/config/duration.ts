const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Parses a duration such as `24h`, `90m`, `1h30m`, `60s` or a bare number of seconds into seconds.
 * Returns undefined when the text is not a duration.
 */
export function parseDurationSeconds(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount = '0', unit = 's'] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) {
    total += Number(amount) * (UNIT_SECONDS[unit] ?? 1);
  }
  return total;
}
