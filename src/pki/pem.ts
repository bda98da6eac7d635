/** PEM (RFC 7468) encoding and a strict-enough parser. Messages name blocks by position, never by content. */
import { ErrorCode, InjectorError } from '../core/errors.js';

/** One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, …) and the DER it carries. */
export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** PEM text for `der` under `label`, base64 wrapped at 64 columns, ending in a newline. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END ${label}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block in `text`, in order. Text between blocks (OpenSSL's `subject=` lines, comments) is ignored.
 * Throws MTLS_ERR_PKI_BAD_PEM naming `what` when a block is unterminated, mislabelled or not base64.
 */
export function splitPem(text: string, what = 'PEM input'): PemBlock[] {
  const blocks: PemBlock[] = [];
  let consumed = 0;
  for (const match of text.matchAll(BLOCK)) {
    const [, begin = '', body = '', end = ''] = match;
    const index = blocks.length + 1;
    if (begin !== end) {
      throw badPem(what, `block ${index} begins as ${begin} but ends as ${end}`);
    }
    const compact = body.replace(/\s+/g, '');
    if (!BASE64.test(compact) || compact.length % 4 !== 0 || compact.length === 0) {
      throw badPem(what, `block ${index} (${begin}) is not valid base64`);
    }
    blocks.push({ label: begin, der: Buffer.from(compact, 'base64') });
    consumed = (match.index ?? 0) + match[0].length;
  }
  if (/-----BEGIN /.test(text.slice(consumed))) {
    throw badPem(what, `block ${blocks.length + 1} has no matching END line`);
  }
  return blocks;
}

/** The DER of every block labelled `label`; throws BAD_PEM when there is none. */
export function pemBlocksOf(text: string, label: string, what: string): Buffer[] {
  const found = splitPem(text, what).filter((b) => b.label === label);
  if (found.length === 0) throw badPem(what, `expected at least one ${label} block, found none`);
  return found.map((b) => b.der);
}

/** An InjectorError for unreadable PEM. */
export function badPem(what: string, detail: string, cause?: unknown): InjectorError {
  return new InjectorError(
    ErrorCode.PkiBadPem,
    `${what}: ${detail}; expected PEM as written by openssl or mtls-injector`,
    cause === undefined ? undefined : { cause },
  );
}
