/**
 * The subject public key of a PodCertificateRequest: the kubelet sends it inside an otherwise empty PKCS#10
 * request (`stubPKCS10Request`, whose signature the API server already checked), or, in v1beta1, as a bare
 * SubjectPublicKeyInfo (`pkixPublicKey`). Only the key is taken; nothing else in the request is trusted.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';
import type { PodCertificateKeyType } from '../core/pod-certificate.js';
import { childrenOf, contentOf, readNode, readOid, rawOf, Tag } from './der.js';
import { subjectPublicKeyBits } from './keys.js';

/** A subject public key, ready to be put in a certificate. */
export interface SubjectPublicKey {
  /** SubjectPublicKeyInfo DER, copied verbatim into the leaf. */
  readonly spki: Buffer;
  readonly publicKeyBits: Buffer;
  /** The key's type in the projection's vocabulary, or undefined for anything else (e.g. RSA-2048). */
  readonly keyType: PodCertificateKeyType | undefined;
  /** For messages: `ECDSA P-384`, `RSA 2048-bit`, `Ed25519`, or the algorithm OID. */
  readonly description: string;
}

const OID_EC = '1.2.840.10045.2.1';
const OID_RSA = '1.2.840.113549.1.1.1';
const OID_ED25519 = '1.3.101.112';
const CURVES: Readonly<Record<string, readonly [PodCertificateKeyType, string]>> = {
  '1.2.840.10045.3.1.7': ['ECDSAP256', 'ECDSA P-256'],
  '1.3.132.0.34': ['ECDSAP384', 'ECDSA P-384'],
  '1.3.132.0.35': ['ECDSAP521', 'ECDSA P-521'],
};

function invalid(message: string): never {
  throw new InjectorError(ErrorCode.PkiEncoding, message);
}

/**
 * The SubjectPublicKeyInfo inside a DER PKCS#10 CertificationRequest (RFC 2986: SEQUENCE { info SEQUENCE {
 * version, subject, subjectPKInfo, [0] attributes }, signatureAlgorithm, signature }). Throws
 * MTLS_ERR_PKI_ENCODING when the bytes are no such request.
 */
export function spkiOfCsr(der: Buffer): Buffer {
  const request = readNode(der);
  if (request.tag !== Tag.Sequence || request.end !== der.length)
    invalid('stubPKCS10Request: expected one DER SEQUENCE (a PKCS#10 CertificationRequest)');
  const [info] = childrenOf(request);
  if (info?.tag !== Tag.Sequence) invalid('stubPKCS10Request: expected a CertificationRequestInfo SEQUENCE');
  const spki = childrenOf(info)[2];
  if (spki?.tag !== Tag.Sequence) invalid('stubPKCS10Request: expected a SubjectPublicKeyInfo SEQUENCE');
  return Buffer.from(rawOf(spki));
}

/** Reads a SubjectPublicKeyInfo and names its key type. Throws MTLS_ERR_PKI_ENCODING when it does not parse. */
export function readSubjectPublicKey(spki: Buffer): SubjectPublicKey {
  const outer = readNode(spki);
  if (outer.tag !== Tag.Sequence || outer.end !== spki.length)
    invalid('SubjectPublicKeyInfo: expected one DER SEQUENCE');
  const [algorithm] = childrenOf(outer);
  if (algorithm?.tag !== Tag.Sequence) invalid('SubjectPublicKeyInfo: expected an AlgorithmIdentifier');
  const [oidNode, parameters] = childrenOf(algorithm);
  if (oidNode === undefined) invalid('SubjectPublicKeyInfo: empty AlgorithmIdentifier');
  const oid = readOid(oidNode);
  const publicKeyBits = subjectPublicKeyBits(spki);
  const key = (keyType: PodCertificateKeyType | undefined, description: string): SubjectPublicKey => ({
    spki,
    publicKeyBits,
    keyType,
    description,
  });
  if (oid === OID_ED25519) return key('ED25519', 'Ed25519');
  if (oid === OID_EC) {
    const curve = parameters?.tag === Tag.Oid ? readOid(parameters) : '';
    const known = CURVES[curve];
    return known === undefined ? key(undefined, `ECDSA on curve ${curve || '(none)'}`) : key(...known);
  }
  if (oid === OID_RSA) {
    const bits = rsaModulusBits(publicKeyBits);
    const keyType = bits === 3072 ? 'RSA3072' : bits === 4096 ? 'RSA4096' : undefined;
    return key(keyType, `RSA ${bits}-bit`);
  }
  return key(undefined, `algorithm ${oid}`);
}

/** Bit length of the modulus of an RSAPublicKey (SEQUENCE { modulus INTEGER, exponent INTEGER }). */
function rsaModulusBits(publicKeyBits: Buffer): number {
  const [modulus] = childrenOf(readNode(publicKeyBits));
  if (modulus?.tag !== Tag.Integer) invalid('RSAPublicKey: expected the modulus INTEGER');
  let bytes = contentOf(modulus);
  while (bytes.length > 0 && bytes[0] === 0) bytes = bytes.subarray(1);
  if (bytes.length === 0) return 0;
  return (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0] ?? 0));
}
