import { parseCrls } from '../pki/crl-reader.js';

/**
 * What a `ca.crl` says, reduced to what decides whether a Secret's copy must be rewritten: which issuers it
 * has CRLs for and which serials each lists (`content`), and the earliest nextUpdate among them. Two files
 * with equal `content` revoke the same certificates, whatever their CRL numbers and signing times.
 */
export interface CrlSummary {
  readonly content: string;
  /** Epoch ms of the earliest nextUpdate (Infinity when a CRL has none). */
  readonly nextUpdate: number;
  /** Epoch ms of the oldest thisUpdate. */
  readonly thisUpdate: number;
}

/** The summary of the CRLs in `pem`; undefined when there is none or one does not parse. */
export function summarizeCrls(pem: string | undefined): CrlSummary | undefined {
  if (pem === undefined) return undefined;
  let crls;
  try {
    crls = parseCrls(pem);
  } catch {
    return undefined;
  }
  if (crls.length === 0) return undefined;
  const parts = crls
    .map((crl) => `${crl.authorityKeyId?.toString('hex') ?? '?'}=${[...crl.revoked.keys()].sort().join(',')}`)
    .sort();
  return {
    content: parts.join(';'),
    nextUpdate: Math.min(...crls.map((c) => c.nextUpdate?.getTime() ?? Infinity)),
    thisUpdate: Math.min(...crls.map((c) => c.thisUpdate.getTime())),
  };
}
