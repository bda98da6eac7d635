/**
 * A certificate as verifyLeaf reads it (src/pki/verify.ts): parsed with src/pki/der.ts, its signature checked
 * with crypto.verify, node:crypto's X509Certificate built only when needed.
 */
import {
  createHash,
  createPublicKey,
  type KeyObject,
  verify as verifySignature,
  X509Certificate,
} from 'node:crypto';
import { labelOf } from './ca-checks.js';
import { Oid } from './certificate.js';
import { type CertificateInfo, readCertificateInfo } from './certificate-info.js';
import { childrenOf, contentOf, rawOf, readNode, readOid, Tag } from './der.js';

/**
 * A certificate with the parts verification reads. Everything on the rotator's path (a leaf's chain, key
 * match and identity) is read from the DER with src/pki/der.ts; node:crypto's X509Certificate, ~130 µs to
 * build, is built only when a message needs the subject, for a key other than our P-256 ones, or for a
 * signature algorithm not mapped below.
 */
export class Parsed {
  private built: X509Certificate | undefined;
  private fingerprint: string | undefined;
  readonly info: CertificateInfo;
  private readonly signed: SignedParts;

  constructor(readonly der: Buffer) {
    this.info = readCertificateInfo(der);
    this.signed = signedPartsOf(der);
  }

  /** node:crypto's view of the certificate, built on first use. */
  get cert(): X509Certificate {
    this.built ??= new X509Certificate(this.der);
    return this.built;
  }

  /** The quoted one-line subject, for messages. */
  get label(): string {
    return labelOf(this.cert);
  }

  /** SHA-256 of the DER as `AB:CD:…`, the form of X509Certificate.fingerprint256. */
  get fingerprint256(): string {
    this.fingerprint ??= colonHex(createHash('sha256').update(this.der).digest());
    return this.fingerprint;
  }

  private key: KeyObject | undefined;

  /** The subject's public key, built on first use (a root's once: parsed bundles are cached). */
  get publicKey(): KeyObject {
    this.key ??= createPublicKey({ key: this.signed.spki, format: 'der', type: 'spki' });
    return this.key;
  }

  /** Whether `issuer`'s key made this certificate's signature (the outer and inner algorithm must agree). */
  signedBy(issuer: Parsed): boolean {
    const { tbs, algorithm, innerAlgorithm, signature } = this.signed;
    if (!algorithm.raw.equals(innerAlgorithm)) return false;
    const scheme = SIGNATURE_SCHEMES[algorithm.oid];
    if (scheme === undefined) return this.cert.verify(issuer.cert.publicKey);
    const key = issuer.publicKey;
    if (key.asymmetricKeyType !== scheme.keyType) return false;
    return verifySignature(scheme.digest, tbs, key, signature);
  }
}

/** Signature algorithms verified straight from the DER: OID → digest and issuer key type. */
const SIGNATURE_SCHEMES: Readonly<Record<string, { digest: string | null; keyType: string }>> = {
  '1.2.840.10045.4.3.2': { digest: 'sha256', keyType: 'ec' },
  '1.2.840.10045.4.3.3': { digest: 'sha384', keyType: 'ec' },
  '1.2.840.10045.4.3.4': { digest: 'sha512', keyType: 'ec' },
  '1.2.840.113549.1.1.11': { digest: 'sha256', keyType: 'rsa' },
  '1.2.840.113549.1.1.12': { digest: 'sha384', keyType: 'rsa' },
  '1.2.840.113549.1.1.13': { digest: 'sha512', keyType: 'rsa' },
  '1.3.101.112': { digest: null, keyType: 'ed25519' },
};

/** The signed part of a certificate, its signature and both copies of the algorithm. */
interface SignedParts {
  readonly tbs: Buffer;
  /** DER of the subjectPublicKeyInfo. */
  readonly spki: Buffer;
  readonly algorithm: { readonly oid: string; readonly raw: Buffer };
  readonly innerAlgorithm: Buffer;
  readonly signature: Buffer;
}

function signedPartsOf(der: Buffer): SignedParts {
  const [tbs, algorithm, value] = childrenOf(readNode(der));
  if (tbs === undefined || algorithm === undefined || value?.tag !== Tag.BitString)
    throw new Error('certificate is not tbsCertificate, signatureAlgorithm, signatureValue');
  const fields = childrenOf(tbs);
  const first = fields[0]?.tag === 0xa0 ? 1 : 0;
  const inner = fields[first + 1];
  const spki = fields[first + 5];
  const [id] = childrenOf(algorithm);
  if (inner === undefined || id === undefined || spki === undefined)
    throw new Error('certificate has no signature algorithm or public key');
  return {
    tbs: rawOf(tbs),
    spki: rawOf(spki),
    algorithm: { oid: readOid(id), raw: rawOf(algorithm) },
    innerAlgorithm: rawOf(inner),
    signature: contentOf(value).subarray(1),
  };
}

function colonHex(bytes: Buffer): string {
  const hex = bytes.toString('hex').toUpperCase();
  const pairs: string[] = [];
  for (let i = 0; i < hex.length; i += 2) pairs.push(hex.slice(i, i + 2));
  return pairs.join(':');
}

/** Extended key usages of a certificate (OIDs), or undefined without the extension. */
export function extendedKeyUsages(info: CertificateInfo): string[] | undefined {
  const ext = info.extensions.get(Oid.extKeyUsage);
  return ext === undefined ? undefined : childrenOf(readNode(ext.value)).map(readOid);
}
