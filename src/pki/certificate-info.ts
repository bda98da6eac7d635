/**
 * Reads the parts of an X.509 certificate that node:crypto's X509Certificate does not expose exactly: the raw
 * issuer/subject Names (leaves must copy the issuer's bytes), keyUsage bits, basicConstraints, key identifiers,
 * the SAN entries by type, and the validity as Dates.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';
import {
  bitIsSet,
  childrenOf,
  contentOf,
  type DerNode,
  rawOf,
  readNode,
  readOid,
  readTime,
  Tag,
} from './der.js';
import { KeyUsageBit, Oid } from './certificate.js';

/** One extension as found in the certificate. */
export interface ExtensionInfo {
  readonly critical: boolean;
  /** The DER inside extnValue. */
  readonly value: Buffer;
}

/** What issuance and verification need to know about a certificate. */
export interface CertificateInfo {
  readonly serialHex: string;
  /** DER of the issuer Name. */
  readonly issuerName: Buffer;
  /** DER of the subject Name. */
  readonly subjectName: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** subjectPublicKey bits, for computing a key identifier when the certificate carries none. */
  readonly publicKeyBits: Buffer;
  readonly extensions: ReadonlyMap<string, ExtensionInfo>;
  /** basicConstraints: undefined when the extension is absent. */
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength?: number } | undefined;
  /** keyUsage bits that are set; undefined when the extension is absent. */
  readonly keyUsage: ReadonlySet<keyof typeof KeyUsageBit> | undefined;
  readonly subjectKeyId: Buffer | undefined;
  readonly authorityKeyId: Buffer | undefined;
  /** SAN uniformResourceIdentifier entries. */
  readonly uris: readonly string[];
  /** SAN dNSName entries. */
  readonly dnsNames: readonly string[];
  /** Values of the subject's O attributes. */
  readonly subjectOrganizations: readonly string[];
}

/** Parses a certificate's DER. Throws MTLS_ERR_PKI_ENCODING (naming `what`) when the structure is not X.509. */
export function readCertificateInfo(der: Buffer, what = 'certificate'): CertificateInfo {
  try {
    return parse(der);
  } catch (err) {
    throw new InjectorError(
      ErrorCode.PkiEncoding,
      `${what}: not a well-formed X.509 certificate (${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
}

function parse(der: Buffer): CertificateInfo {
  const [tbsNode] = childrenOf(readNode(der));
  if (tbsNode?.tag !== Tag.Sequence) throw new Error('missing tbsCertificate');
  const fields = childrenOf(tbsNode);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const serial = fields[i++];
  i++; // signature AlgorithmIdentifier
  const issuer = fields[i++];
  const validity = fields[i++];
  const subject = fields[i++];
  const spki = fields[i++];
  if (
    serial === undefined ||
    issuer === undefined ||
    validity === undefined ||
    subject === undefined ||
    spki === undefined
  ) {
    throw new Error('tbsCertificate is missing fields');
  }
  const [notBefore, notAfter] = childrenOf(validity);
  if (notBefore === undefined || notAfter === undefined) throw new Error('validity is missing times');
  const bits = childrenOf(spki)[1];
  if (bits?.tag !== Tag.BitString) throw new Error('subjectPublicKey is not a BIT STRING');

  const extensions = new Map<string, ExtensionInfo>();
  const extsField = fields.slice(i).find((f) => f.tag === 0xa3);
  const extsSeq = extsField === undefined ? undefined : childrenOf(extsField)[0];
  for (const ext of extsSeq === undefined ? [] : childrenOf(extsSeq)) {
    const parts = childrenOf(ext);
    const id = parts[0];
    const critical = parts.length === 3 && parts[1]?.tag === Tag.Boolean && contentOf(parts[1])[0] !== 0;
    const value = parts[parts.length - 1];
    if (id === undefined || value?.tag !== Tag.OctetString) throw new Error('malformed extension');
    const oid = readOid(id);
    if (extensions.has(oid)) throw new Error(`extension ${oid} appears twice`);
    extensions.set(oid, { critical, value: contentOf(value) });
  }

  const uris: string[] = [];
  const dnsNames: string[] = [];
  const san = extensions.get(Oid.subjectAltName);
  if (san !== undefined) {
    for (const name of childrenOf(readNode(san.value))) {
      if (name.tag === 0x86) uris.push(contentOf(name).toString('latin1'));
      else if (name.tag === 0x82) dnsNames.push(contentOf(name).toString('latin1'));
    }
  }

  return {
    serialHex: contentOf(serial).toString('hex'),
    issuerName: Buffer.from(rawOf(issuer)),
    subjectName: Buffer.from(rawOf(subject)),
    notBefore: readTime(notBefore),
    notAfter: readTime(notAfter),
    publicKeyBits: Buffer.from(contentOf(bits).subarray(1)),
    extensions,
    basicConstraints: readBasicConstraints(extensions.get(Oid.basicConstraints)),
    keyUsage: readKeyUsage(extensions.get(Oid.keyUsage)),
    subjectKeyId: readSubjectKeyId(extensions.get(Oid.subjectKeyIdentifier)),
    authorityKeyId: readAuthorityKeyId(extensions.get(Oid.authorityKeyIdentifier)),
    uris,
    dnsNames,
    subjectOrganizations: attributeValues(subject, Oid.organization),
  };
}

function readBasicConstraints(ext: ExtensionInfo | undefined): CertificateInfo['basicConstraints'] {
  if (ext === undefined) return undefined;
  let ca = false;
  let pathLength: number | undefined;
  for (const part of childrenOf(readNode(ext.value))) {
    if (part.tag === Tag.Boolean) ca = contentOf(part)[0] !== 0;
    else if (part.tag === Tag.Integer)
      pathLength = Number.parseInt(contentOf(part).toString('hex') || '0', 16);
  }
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

function readKeyUsage(ext: ExtensionInfo | undefined): CertificateInfo['keyUsage'] {
  if (ext === undefined) return undefined;
  const node = readNode(ext.value);
  const set = new Set<keyof typeof KeyUsageBit>();
  for (const [name, bit] of Object.entries(KeyUsageBit) as [keyof typeof KeyUsageBit, number][]) {
    if (bitIsSet(node, bit)) set.add(name);
  }
  return set;
}

function readSubjectKeyId(ext: ExtensionInfo | undefined): Buffer | undefined {
  return ext === undefined ? undefined : Buffer.from(contentOf(readNode(ext.value)));
}

function readAuthorityKeyId(ext: ExtensionInfo | undefined): Buffer | undefined {
  if (ext === undefined) return undefined;
  const keyId = childrenOf(readNode(ext.value)).find((n) => n.tag === 0x80);
  return keyId === undefined ? undefined : Buffer.from(contentOf(keyId));
}

function attributeValues(name: DerNode, type: string): string[] {
  const values: string[] = [];
  for (const rdn of childrenOf(name)) {
    for (const atv of childrenOf(rdn)) {
      const [id, value] = childrenOf(atv);
      if (id !== undefined && value !== undefined && readOid(id) === type)
        values.push(contentOf(value).toString('utf8'));
    }
  }
  return values;
}
