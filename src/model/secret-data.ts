import type { SecretObject } from '../kube/types.js';

/** The largest Secret the API server stores (etcd request limit); refuse before writing (faults D8). */
export const MAX_SECRET_BYTES = 1024 * 1024;

/** base64 `data` for a Secret from file texts (PEM), dropping undefined entries. */
export function encodeFiles(files: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) if (v !== undefined) out[k] = Buffer.from(v).toString('base64');
  return out;
}

/** Decodes one file of a Secret; undefined when missing. */
export function secretFile(secret: SecretObject, file: string): string | undefined {
  const value = secret.data?.[file];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/** Approximate stored size of a Secret's data, to refuse one over the API server's limit. */
export function secretDataBytes(secret: SecretObject): number {
  let total = 0;
  for (const value of Object.values(secret.data ?? {})) total += value.length;
  return total;
}
