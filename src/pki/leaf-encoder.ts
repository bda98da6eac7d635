/**
 * The leaf certificate encoder on the issuance hot path. It writes the whole TBSCertificate into one buffer in a
 * single pass (lengths computed first, then every field written in place), because at ~10k certificates/s the
 * dozens of small allocations of a generic TLV writer cost as much as the key generation. The shapes are fixed
 * (see issue.ts); der.ts encodes the same structures generically and the tests compare both with openssl.
 */
import { VERSION_V3 } from './certificate.js';

/** The variable parts of a leaf TBSCertificate plus the per-CA constants, already encoded where possible. */
export interface LeafFields {
  /** The serial INTEGER TLV (from randomSerial). */
  readonly serial: Buffer;
  /** The CA's signature AlgorithmIdentifier. */
  readonly signatureAlgorithm: Buffer;
  /** The CA's subject Name, byte for byte. */
  readonly issuerName: Buffer;
  /** SEQUENCE { notBefore, notAfter }. */
  readonly validity: Buffer;
  /** Subject O; omitted when empty. */
  readonly organization: string;
  /** Subject CN; omitted when empty. */
  readonly commonName: string;
  readonly spki: Buffer;
  /** basicConstraints, keyUsage and extKeyUsage extensions, concatenated. */
  readonly fixedExtensions: Buffer;
  /** The 20-byte SubjectKeyIdentifier. */
  readonly subjectKeyId: Buffer;
  /** The full AuthorityKeyIdentifier extension. */
  readonly authorityKeyIdExtension: Buffer;
  /** URI SAN (ASCII, validated by the caller). */
  readonly uri: string | undefined;
  /** DNS SANs (ASCII, validated by the caller). */
  readonly dnsNames: readonly string[];
  /** Mark the SAN extension critical (when the subject is empty). */
  readonly sanCritical: boolean;
}

const OID_ORGANIZATION = Buffer.from('060355040a', 'hex');
const OID_COMMON_NAME = Buffer.from('0603550403', 'hex');
/** `SEQUENCE { 2.5.29.14, OCTET STRING { OCTET STRING (20 bytes) } }` up to the key id. */
const SKI_PREFIX = Buffer.from('301d0603551d0e04160414', 'hex');
const OID_SAN = Buffer.from('0603551d11', 'hex');
const CRITICAL = Buffer.from('0101ff', 'hex');

/** Bytes of a TLV header (tag + length) for `length` content bytes. */
function header(length: number): number {
  return length < 0x80 ? 2 : length < 0x100 ? 3 : length < 0x10000 ? 4 : 5;
}

function putHeader(out: Buffer, offset: number, tag: number, length: number): number {
  out[offset++] = tag;
  if (length < 0x80) {
    out[offset++] = length;
  } else if (length < 0x100) {
    out[offset++] = 0x81;
    out[offset++] = length;
  } else if (length < 0x10000) {
    out[offset++] = 0x82;
    out[offset++] = length >>> 8;
    out[offset++] = length & 0xff;
  } else {
    out[offset++] = 0x83;
    out[offset++] = length >>> 16;
    out[offset++] = (length >>> 8) & 0xff;
    out[offset++] = length & 0xff;
  }
  return offset;
}

function put(out: Buffer, offset: number, bytes: Buffer): number {
  bytes.copy(out, offset);
  return offset + bytes.length;
}

/** Size of `SET { SEQUENCE { oid, UTF8String value } }`, or 0 for an empty value. */
function rdnSize(valueBytes: number): number {
  if (valueBytes === 0) return 0;
  const atv = 5 + header(valueBytes) + valueBytes;
  const seq = header(atv) + atv;
  return header(seq) + seq;
}

function putRdn(out: Buffer, offset: number, oid: Buffer, value: string, valueBytes: number): number {
  if (valueBytes === 0) return offset;
  const atv = 5 + header(valueBytes) + valueBytes;
  const seq = header(atv) + atv;
  offset = putHeader(out, offset, 0x31, seq);
  offset = putHeader(out, offset, 0x30, atv);
  offset = put(out, offset, oid);
  offset = putHeader(out, offset, 0x0c, valueBytes);
  return offset + out.write(value, offset, 'utf8');
}

/** The DER TBSCertificate of a leaf, in one allocation. */
export function encodeLeafTbs(f: LeafFields): Buffer {
  const orgBytes = Buffer.byteLength(f.organization);
  const cnBytes = Buffer.byteLength(f.commonName);
  const subjectContent = rdnSize(orgBytes) + rdnSize(cnBytes);
  const subject = header(subjectContent) + subjectContent;

  let names = 0;
  if (f.uri !== undefined) names += header(f.uri.length) + f.uri.length;
  for (const name of f.dnsNames) names += header(name.length) + name.length;
  const generalNames = header(names) + names;
  const sanOctets = header(generalNames) + generalNames;
  const sanContent = OID_SAN.length + (f.sanCritical ? CRITICAL.length : 0) + sanOctets;
  const san = header(sanContent) + sanContent;

  const extsContent =
    f.fixedExtensions.length + SKI_PREFIX.length + 20 + f.authorityKeyIdExtension.length + san;
  const exts = header(extsContent) + extsContent;
  const tbsContent =
    VERSION_V3.length +
    f.serial.length +
    f.signatureAlgorithm.length +
    f.issuerName.length +
    f.validity.length +
    subject +
    f.spki.length +
    header(exts) +
    exts;

  const out = Buffer.allocUnsafe(header(tbsContent) + tbsContent);
  let o = putHeader(out, 0, 0x30, tbsContent);
  o = put(out, o, VERSION_V3);
  o = put(out, o, f.serial);
  o = put(out, o, f.signatureAlgorithm);
  o = put(out, o, f.issuerName);
  o = put(out, o, f.validity);
  o = putHeader(out, o, 0x30, subjectContent);
  o = putRdn(out, o, OID_ORGANIZATION, f.organization, orgBytes);
  o = putRdn(out, o, OID_COMMON_NAME, f.commonName, cnBytes);
  o = put(out, o, f.spki);
  o = putHeader(out, o, 0xa3, exts);
  o = putHeader(out, o, 0x30, extsContent);
  o = put(out, o, f.fixedExtensions);
  o = put(out, o, SKI_PREFIX);
  o = put(out, o, f.subjectKeyId);
  o = put(out, o, f.authorityKeyIdExtension);
  o = putHeader(out, o, 0x30, sanContent);
  o = put(out, o, OID_SAN);
  if (f.sanCritical) o = put(out, o, CRITICAL);
  o = putHeader(out, o, 0x04, generalNames);
  o = putHeader(out, o, 0x30, names);
  if (f.uri !== undefined) {
    o = putHeader(out, o, 0x86, f.uri.length);
    o += out.write(f.uri, o, 'latin1');
  }
  for (const name of f.dnsNames) {
    o = putHeader(out, o, 0x82, name.length);
    o += out.write(name, o, 'latin1');
  }
  return out;
}

/** `Certificate ::= SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }`, in one allocation. */
export function encodeCertificate(tbs: Buffer, signatureAlgorithm: Buffer, signature: Buffer): Buffer {
  const bits = signature.length + 1;
  const content = tbs.length + signatureAlgorithm.length + header(bits) + bits;
  const out = Buffer.allocUnsafe(header(content) + content);
  let o = putHeader(out, 0, 0x30, content);
  o = put(out, o, tbs);
  o = put(out, o, signatureAlgorithm);
  o = putHeader(out, o, 0x03, bits);
  out[o++] = 0;
  put(out, o, signature);
  return out;
}
