/**
 * A minimal DER writer and reader for exactly the X.509 shapes this product issues and inspects (X.690).
 * Writers return fresh Buffers; callers precompute whatever is constant and concatenate the rest.
 *
 * Over 300 lines: the writer and the reader are the two halves of one encoding over one tag table, and
 * test/pki/der.test.ts checks each against the other and against openssl; apart, each would need the other
 * to be read.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';

/** Universal and context tags we use. */
export const Tag = {
  Boolean: 0x01,
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  Oid: 0x06,
  Enumerated: 0x0a,
  Utf8String: 0x0c,
  PrintableString: 0x13,
  Ia5String: 0x16,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
  Sequence: 0x30,
  Set: 0x31,
} as const;

/** Bytes of a DER length field for `length` (short form below 128, long form up to 4 bytes). */
function lengthBytes(length: number): number {
  if (length < 0x80) return 1;
  if (length < 0x100) return 2;
  if (length < 0x10000) return 3;
  if (length < 0x1000000) return 4;
  return 5;
}

function writeLength(out: Buffer, offset: number, length: number): number {
  const size = lengthBytes(length);
  if (size === 1) {
    out[offset] = length;
    return offset + 1;
  }
  out[offset] = 0x80 | (size - 1);
  for (let i = size - 1; i >= 1; i--) {
    out[offset + i] = length & 0xff;
    length >>>= 8;
  }
  return offset + size;
}

/** One TLV whose content is the concatenation of `parts`, in a single allocation. */
export function tlv(tag: number, parts: Uint8Array | readonly Uint8Array[]): Buffer {
  const list: readonly Uint8Array[] = parts instanceof Uint8Array ? [parts] : parts;
  let length = 0;
  for (const part of list) length += part.length;
  const out = Buffer.allocUnsafe(1 + lengthBytes(length) + length);
  out[0] = tag;
  let offset = writeLength(out, 1, length);
  for (const part of list) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** SEQUENCE of already-encoded elements. */
export function sequence(...items: readonly Uint8Array[]): Buffer {
  return tlv(Tag.Sequence, items);
}

/** SET of already-encoded elements. DER wants them sorted; every SET we write holds one element. */
export function set(...items: readonly Uint8Array[]): Buffer {
  return tlv(Tag.Set, items);
}

/**
 * INTEGER from a non-negative value: a number, a bigint, or unsigned big-endian bytes. Leading zero bytes are
 * stripped and one is added back when the top bit is set, which is the minimal two's-complement form DER needs.
 */
export function integer(value: number | bigint | Uint8Array): Buffer {
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) {
    bytes = value;
  } else {
    let n = BigInt(value);
    if (n < 0n) throw new InjectorError(ErrorCode.PkiEncoding, `integer: expected >= 0, got ${n}`);
    const out: number[] = [];
    do {
      out.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    bytes = Uint8Array.from(out);
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  if (trimmed.length === 0) return Buffer.from([Tag.Integer, 1, 0]);
  return (trimmed[0] ?? 0) & 0x80 ? tlv(Tag.Integer, [Buffer.from([0]), trimmed]) : tlv(Tag.Integer, trimmed);
}

/** OBJECT IDENTIFIER from dotted text such as `2.5.29.17`. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => {
    if (!/^\d+$/.test(arc)) throw new InjectorError(ErrorCode.PkiEncoding, `oid: bad arc in ${dotted}`);
    return BigInt(arc);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n || (first < 2n && second > 39n)) {
    throw new InjectorError(ErrorCode.PkiEncoding, `oid: expected at least two valid arcs, got ${dotted}`);
  }
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const group: number[] = [Number(arc & 0x7fn)];
    let n = arc >> 7n;
    while (n > 0n) {
      group.unshift(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    out.push(...group);
  }
  return tlv(Tag.Oid, Uint8Array.from(out));
}

/** ENUMERATED from a small non-negative value (CRL reason codes). */
export function enumerated(value: number): Buffer {
  const der = integer(value);
  der[0] = Tag.Enumerated;
  return der;
}

/** BIT STRING; `unusedBits` is the count of zero bits padding the last byte (DER: exactly the trailing zeros). */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  return tlv(Tag.BitString, [Uint8Array.of(unusedBits), bytes]);
}

/**
 * BIT STRING for a named bit list (keyUsage): bit 0 is the most significant bit of the first byte. Trailing
 * zero bits are dropped as DER requires for named bit lists.
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return Buffer.from([Tag.BitString, 1, 0]);
  const highest = Math.max(...bits);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  return bitString(bytes, 7 - (highest & 7));
}

/** OCTET STRING. */
export function octetString(bytes: Uint8Array): Buffer {
  return tlv(Tag.OctetString, bytes);
}

/** BOOLEAN (DER: TRUE is 0xff). */
export function boolean(value: boolean): Buffer {
  return Buffer.from([Tag.Boolean, 1, value ? 0xff : 0]);
}

/** NULL. */
export function nullValue(): Buffer {
  return Buffer.from([Tag.Null, 0]);
}

/** UTF8String. */
export function utf8String(text: string): Buffer {
  return tlv(Tag.Utf8String, Buffer.from(text, 'utf8'));
}

/** PrintableString; throws on characters outside its repertoire. */
export function printableString(text: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) {
    throw new InjectorError(ErrorCode.PkiEncoding, `printableString: not printable: ${JSON.stringify(text)}`);
  }
  return tlv(Tag.PrintableString, Buffer.from(text, 'latin1'));
}

/** IA5String (ASCII); used implicitly tagged for URI and DNS names. */
export function ia5String(text: string): Buffer {
  if (Buffer.byteLength(text, 'utf8') !== text.length) {
    throw new InjectorError(ErrorCode.PkiEncoding, `ia5String: not ASCII: ${JSON.stringify(text)}`);
  }
  return tlv(Tag.Ia5String, Buffer.from(text, 'latin1'));
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** `YYMMDDHHMMSSZ`, valid for 1950–2049; fractions of a second are dropped. */
export function utcTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) {
    throw new InjectorError(ErrorCode.PkiEncoding, `utcTime: year ${year} outside 1950–2049`);
  }
  return tlv(Tag.UtcTime, Buffer.from(`${pad2(year % 100)}${timeOfYear(date)}Z`, 'latin1'));
}

/** `YYYYMMDDHHMMSSZ`; fractions of a second are dropped. */
export function generalizedTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) {
    throw new InjectorError(ErrorCode.PkiEncoding, `generalizedTime: year ${year} outside 0–9999`);
  }
  return tlv(
    Tag.GeneralizedTime,
    Buffer.from(`${String(year).padStart(4, '0')}${timeOfYear(date)}Z`, 'latin1'),
  );
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export function x509Time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? utcTime(date) : generalizedTime(date);
}

function timeOfYear(date: Date): string {
  return (
    pad2(date.getUTCMonth() + 1) +
    pad2(date.getUTCDate()) +
    pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) +
    pad2(date.getUTCSeconds())
  );
}

/** `[n]` EXPLICIT: a constructed context tag wrapping encoded elements. */
export function explicit(n: number, ...items: readonly Uint8Array[]): Buffer {
  return tlv(0xa0 | n, items);
}

// ---------------------------------------------------------------------------------------------------------
// Reader

/** One decoded TLV: `headerStart` is where its tag sits; `start`/`end` bound the content inside `bytes`. */
export interface DerNode {
  readonly tag: number;
  readonly headerStart: number;
  readonly start: number;
  readonly end: number;
  readonly bytes: Buffer;
}

/** The content bytes of a node. */
export function contentOf(node: DerNode): Buffer {
  return node.bytes.subarray(node.start, node.end);
}

/** The whole encoded element (tag, length and content) of a node. */
export function rawOf(node: DerNode): Buffer {
  return node.bytes.subarray(node.headerStart, node.end);
}

function fail(message: string): never {
  throw new InjectorError(ErrorCode.PkiEncoding, `DER: ${message}`);
}

/** Reads the TLV at `offset` (definite lengths only, as DER requires). */
export function readNode(bytes: Buffer, offset = 0, limit = bytes.length): DerNode {
  if (offset + 2 > limit) fail(`truncated header at offset ${offset}`);
  const tag = bytes[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) fail(`multi-byte tags are not supported (offset ${offset})`);
  let cursor = offset + 1;
  let length = bytes[cursor++] ?? 0;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) fail(`unsupported length form at offset ${offset}`);
    if (cursor + count > limit) fail(`truncated length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[cursor++] ?? 0);
  }
  const end = cursor + length;
  if (end > limit) fail(`element at offset ${offset} runs past its container`);
  return { tag, start: cursor, end, bytes, headerStart: offset };
}

/** The child elements of a constructed node, in order. */
export function childrenOf(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let offset = node.start;
  while (offset < node.end) {
    const child = readNode(node.bytes, offset, node.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** Dotted text of an OBJECT IDENTIFIER node. */
export function readOid(node: DerNode): string {
  if (node.tag !== Tag.Oid) fail(`expected OBJECT IDENTIFIER, got tag 0x${node.tag.toString(16)}`);
  const arcs: bigint[] = [];
  let value = 0n;
  for (let i = node.start; i < node.end; i++) {
    const byte = node.bytes[i] ?? 0;
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift();
  if (first === undefined) fail('empty OBJECT IDENTIFIER');
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

/** A UTCTime or GeneralizedTime node as a Date (whole seconds, `Z` form only, as RFC 5280 requires). */
export function readTime(node: DerNode): Date {
  const text = contentOf(node).toString('latin1');
  let match: RegExpExecArray | null;
  if (node.tag === Tag.UtcTime && (match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    const yy = Number(match[1]);
    return utc(yy < 50 ? 2000 + yy : 1900 + yy, match);
  }
  if (
    node.tag === Tag.GeneralizedTime &&
    (match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))
  ) {
    return utc(Number(match[1]), match);
  }
  return fail(`expected a UTCTime or GeneralizedTime in Z form, got ${JSON.stringify(text)}`);
}

function utc(year: number, m: RegExpExecArray): Date {
  const date = new Date(0);
  date.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  return date;
}

/** The value of an INTEGER node known to be non-negative (serials, CRL numbers), as a bigint. */
export function readUnsignedInteger(node: DerNode): bigint {
  if (node.tag !== Tag.Integer && node.tag !== Tag.Enumerated) {
    fail(`expected INTEGER, got tag 0x${node.tag.toString(16)}`);
  }
  const content = contentOf(node);
  if (content.length === 0) fail('empty INTEGER');
  if ((content[0] ?? 0) & 0x80) fail('negative INTEGER where a non-negative one is required');
  return BigInt(`0x${content.toString('hex')}`);
}

/** True when the BIT STRING (named bits, bit 0 = MSB of the first content byte) has `bit` set. */
export function bitIsSet(node: DerNode, bit: number): boolean {
  if (node.tag !== Tag.BitString) fail(`expected BIT STRING, got tag 0x${node.tag.toString(16)}`);
  const index = node.start + 1 + (bit >> 3);
  if (index >= node.end) return false;
  return ((node.bytes[index] ?? 0) & (0x80 >> (bit & 7))) !== 0;
}
