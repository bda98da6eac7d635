/**
 * Reads X.509 CRLs (ours, or any RFC 5280 v1/v2 CRL) for mtls-init, `check` and the rotator: issuer, update
 * times, CRL number, AKI and the revoked serials, and checks a CRL's signature against its issuer's key.
 * node:crypto has no CRL type, so this is the DER reader's job.
 */
import { type KeyObject, verify, X509Certificate } from 'node:crypto';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { canonicalSerial, reasonName } from '../core/revocation.js';
import {
  childrenOf,
  contentOf,
  type DerNode,
  rawOf,
  readNode,
  readOid,
  readTime,
  readUnsignedInteger,
  Tag,
} from './der.js';
import { Oid } from './certificate.js';
import { splitPem } from './pem.js';

/** One revoked certificate listed by a CRL. */
export interface RevokedEntry {
  /** Canonical hex (canonicalSerial). */
  readonly serialHex: string;
  readonly revokedAt: Date;
  /** RFC 5280 reason name; undefined when the entry carries no reasonCode (unspecified). */
  readonly reason: string | undefined;
}

/** A parsed CRL. Lookups by serial are O(1): `revoked.get(canonicalSerial(hex))`. */
export interface CrlInfo {
  readonly der: Buffer;
  /** DER of the issuer Name, byte for byte: compared with a certificate's issuer. */
  readonly issuerName: Buffer;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly crlNumber: bigint | undefined;
  readonly authorityKeyId: Buffer | undefined;
  readonly revoked: ReadonlyMap<string, RevokedEntry>;
  /** The signed TBSCertList, the signature algorithm OID and the signature, for crlSignedBy. */
  readonly tbs: Buffer;
  readonly signatureAlgorithm: string;
  readonly signature: Buffer;
}

const KNOWN_CRL_EXTENSIONS = new Set<string>([Oid.authorityKeyIdentifier, Oid.cRLNumber]);
const KNOWN_ENTRY_EXTENSIONS = new Set<string>([Oid.reasonCode, Oid.invalidityDate]);

/** Digest for crypto.verify per signature algorithm; null for Ed25519. */
const DIGESTS: Readonly<Record<string, string | null>> = {
  [Oid.ecdsaWithSha256]: 'sha256',
  [Oid.ecdsaWithSha384]: 'sha384',
  [Oid.ecdsaWithSha512]: 'sha512',
  [Oid.sha256WithRsa]: 'sha256',
  [Oid.sha384WithRsa]: 'sha384',
  [Oid.sha512WithRsa]: 'sha512',
  [Oid.ed25519]: null,
};

/**
 * Parses one CRL's DER. Throws MTLS_ERR_PKI_CRL_INVALID naming `what` when it is not a CRL, or when it
 * carries a critical extension this reader does not understand (RFC 5280 §5.2: such a CRL must not be used;
 * that includes delta CRLs and issuingDistributionPoint).
 */
export function readCrl(der: Buffer, what = 'CRL'): CrlInfo {
  try {
    return parse(der);
  } catch (err) {
    throw new InjectorError(
      ErrorCode.PkiCrlInvalid,
      `${what}: not a usable X.509 CRL (${err instanceof Error ? err.message : String(err)}); expected a CRL as mtls-injector or openssl writes it`,
      { cause: err },
    );
  }
}

/** Every `X509 CRL` block of a PEM text, parsed, in order; `[]` for text without one. */
export function parseCrls(pem: string, what = 'ca.crl'): CrlInfo[] {
  return splitPem(pem, what)
    .filter((b) => b.label === 'X509 CRL')
    .map((b, i) => readCrl(b.der, `${what}: CRL ${i + 1}`));
}

/** Whether `crl` was signed with the key of `issuer` (and names it as issuer). False for unknown algorithms. */
export function crlSignedBy(crl: CrlInfo, issuer: X509Certificate | KeyObject): boolean {
  const digest = DIGESTS[crl.signatureAlgorithm];
  if (digest === undefined) return false;
  const key = issuer instanceof X509Certificate ? issuer.publicKey : issuer;
  try {
    return verify(digest, crl.tbs, key, crl.signature);
  } catch {
    return false;
  }
}

function fail(message: string): never {
  throw new Error(message);
}

function parse(der: Buffer): CrlInfo {
  const outer = readNode(der);
  if (outer.tag !== Tag.Sequence || outer.end !== der.length) fail('expected one SEQUENCE');
  const [tbsNode, algorithm, signatureNode] = childrenOf(outer);
  if (tbsNode?.tag !== Tag.Sequence || algorithm === undefined || signatureNode?.tag !== Tag.BitString) {
    fail('expected SEQUENCE { tbsCertList, signatureAlgorithm, signature }');
  }
  const fields = childrenOf(tbsNode);
  let i = 0;
  if (fields[0]?.tag === Tag.Integer) {
    const version = readUnsignedInteger(fields[0]);
    if (version !== 1n) fail(`version ${version}; expected 1 (v2)`);
    i = 1;
  }
  const innerAlgorithm = fields[i++];
  const issuer = fields[i++];
  const thisUpdate = fields[i++];
  if (innerAlgorithm === undefined || issuer?.tag !== Tag.Sequence || thisUpdate === undefined) {
    fail('tbsCertList is missing signature, issuer or thisUpdate');
  }
  if (!rawOf(innerAlgorithm).equals(rawOf(algorithm))) {
    fail('the signature algorithm inside tbsCertList differs from the outer one');
  }
  let nextUpdate: Date | undefined;
  const maybeNext = fields[i];
  if (maybeNext?.tag === Tag.UtcTime || maybeNext?.tag === Tag.GeneralizedTime) {
    nextUpdate = readTime(maybeNext);
    i++;
  }
  const revoked = new Map<string, RevokedEntry>();
  if (fields[i]?.tag === Tag.Sequence) {
    for (const entry of childrenOf(fields[i] as DerNode)) {
      const read = readEntry(entry);
      revoked.set(read.serialHex, read);
    }
    i++;
  }
  let crlNumber: bigint | undefined;
  let authorityKeyId: Buffer | undefined;
  const extensionsField = fields[i];
  if (extensionsField?.tag === 0xa0) {
    for (const [id, critical, value] of extensionsOf(childrenOf(extensionsField)[0])) {
      if (id === Oid.cRLNumber) crlNumber = readUnsignedInteger(readNode(value));
      else if (id === Oid.authorityKeyIdentifier) {
        const keyId = childrenOf(readNode(value)).find((n) => n.tag === 0x80);
        authorityKeyId = keyId === undefined ? undefined : Buffer.from(contentOf(keyId));
      } else if (critical && !KNOWN_CRL_EXTENSIONS.has(id)) {
        fail(`critical CRL extension ${id} is not supported`);
      }
    }
    i++;
  }
  if (i !== fields.length) fail('unexpected fields after crlExtensions');
  const signatureBits = contentOf(signatureNode);
  if (signatureBits[0] !== 0) fail('signature BIT STRING has unused bits');
  return {
    der,
    issuerName: Buffer.from(rawOf(issuer)),
    thisUpdate: readTime(thisUpdate),
    nextUpdate,
    crlNumber,
    authorityKeyId,
    revoked,
    tbs: Buffer.from(rawOf(tbsNode)),
    signatureAlgorithm: readOid(childrenOf(algorithm)[0] ?? fail('empty AlgorithmIdentifier')),
    signature: Buffer.from(signatureBits.subarray(1)),
  };
}

function readEntry(entry: DerNode): RevokedEntry {
  const [serial, date, extensions] = childrenOf(entry);
  if (serial?.tag !== Tag.Integer || date === undefined) fail('revoked entry without serial and date');
  let reason: string | undefined;
  if (extensions !== undefined) {
    for (const [id, critical, value] of extensionsOf(extensions)) {
      if (id === Oid.reasonCode) reason = reasonName(Number(readUnsignedInteger(readNode(value))));
      else if (critical && !KNOWN_ENTRY_EXTENSIONS.has(id)) {
        fail(`critical CRL entry extension ${id} is not supported`);
      }
    }
  }
  return {
    serialHex: canonicalSerial(contentOf(serial).toString('hex')),
    revokedAt: readTime(date),
    reason,
  };
}

/** `[oid, critical, extnValue DER]` of each Extension in an Extensions SEQUENCE. */
function extensionsOf(node: DerNode | undefined): [string, boolean, Buffer][] {
  if (node?.tag !== Tag.Sequence) fail('extensions are not a SEQUENCE');
  return childrenOf(node).map((ext) => {
    const parts = childrenOf(ext);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (id === undefined || value?.tag !== Tag.OctetString) fail('malformed extension');
    const critical = parts.length === 3 && parts[1]?.tag === Tag.Boolean && contentOf(parts[1])[0] !== 0;
    return [readOid(id), critical, Buffer.from(contentOf(value))];
  });
}
