/**
 * The building blocks shared by CA and leaf certificates (RFC 5280): names, extensions, serials, signature
 * algorithms and the final signed Certificate. Everything constant is encoded once at module load.
 */
import { hash, type KeyObject, randomFillSync, sign } from 'node:crypto';
import { ErrorCode, InjectorError } from '../core/errors.js';
import {
  bitString,
  boolean,
  contentOf,
  explicit,
  ia5String,
  integer,
  nullValue,
  octetString,
  oid,
  readNode,
  sequence,
  set,
  tlv,
  utf8String,
} from './der.js';

/** Object identifiers we write or read. */
export const Oid = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  authorityKeyIdentifier: '2.5.29.35',
  cRLNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  issuingDistributionPoint: '2.5.29.28',
  deltaCRLIndicator: '2.5.29.27',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ed25519: '1.3.101.112',
} as const;

/** keyUsage bit positions (RFC 5280 §4.2.1.3). */
export const KeyUsageBit = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

const TRUE = boolean(true);

/** `version [0] EXPLICIT INTEGER 2` (v3), the first field of every TBSCertificate we write. */
export const VERSION_V3 = explicit(0, integer(2));

const oidCache = new Map<string, Buffer>();

/** The DER of an OBJECT IDENTIFIER, encoded once per process (oid() is too slow for the issuance path). */
function oidDer(dotted: string): Buffer {
  let der = oidCache.get(dotted);
  if (der === undefined) {
    der = oid(dotted);
    oidCache.set(dotted, der);
  }
  return der;
}

/** An Extension: `SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`. */
export function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  const idDer = oidDer(id);
  return critical ? sequence(idDer, TRUE, octetString(value)) : sequence(idDer, octetString(value));
}

/** A Name of RDNs, each one UTF8String attribute, in the order given. Empty values are skipped. */
export function distinguishedName(attributes: readonly (readonly [string, string])[]): Buffer {
  return sequence(
    ...attributes
      .filter(([, value]) => value.length > 0)
      .map(([type, value]) => set(sequence(oidDer(type), utf8String(value)))),
  );
}

/** X.520 upper bounds (ub-common-name, ub-organization-name): longer values are cut, not refused. */
const MAX_NAME_ATTRIBUTE_LENGTH = 64;

/** Cuts a name attribute to its X.520 upper bound. */
export function boundedAttribute(value: string): string {
  return value.length > MAX_NAME_ATTRIBUTE_LENGTH ? value.slice(0, MAX_NAME_ATTRIBUTE_LENGTH) : value;
}

/** The names a CA may issue for: DNS subtrees (`svc` permits `web.shop.svc`) and URI hosts (the trust domain). */
export interface PermittedNames {
  readonly dnsNames: readonly string[];
  readonly uriHosts: readonly string[];
}

/**
 * The NameConstraints extension (RFC 5280 §4.2.1.10), critical as the RFC requires, with only
 * permittedSubtrees: `[0] { GeneralSubtree { dNSName [2] | uniformResourceIdentifier [6] } ... }`. A verifier
 * that honours it (OpenSSL, Go, BoringSSL, rustls) refuses a leaf naming anything else.
 */
export function nameConstraintsExtension(permitted: PermittedNames): Buffer {
  // ia5String refuses non-ASCII; the implicit tags [2] and [6] replace its universal tag.
  const implicit = (tag: number, text: string) => tlv(tag, contentOf(readNode(ia5String(text))));
  const subtrees = [
    ...permitted.dnsNames.map((name) => sequence(implicit(0x82, name))),
    ...permitted.uriHosts.map((host) => sequence(implicit(0x86, host))),
  ];
  return extension(Oid.nameConstraints, true, sequence(tlv(0xa0, subtrees)));
}

/** SubjectKeyIdentifier per RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKeyBits: Uint8Array): Buffer {
  return hash('sha1', publicKeyBits, 'buffer');
}

/** The SubjectKeyIdentifier extension (non-critical). */
export function subjectKeyIdExtension(keyId: Uint8Array): Buffer {
  return extension(Oid.subjectKeyIdentifier, false, octetString(keyId));
}

/** The AuthorityKeyIdentifier extension holding only `[0] keyIdentifier` (non-critical). */
export function authorityKeyIdExtension(keyId: Uint8Array): Buffer {
  return extension(
    Oid.authorityKeyIdentifier,
    false,
    sequence(Buffer.concat([Buffer.from([0x80, keyId.length]), keyId])),
  );
}

let randomPool = Buffer.alloc(0);
let randomOffset = 0;

/**
 * A serial number INTEGER: 16 random bytes, top bit cleared so it is positive and first byte non-zero so it is
 * exactly 16 bytes in minimal DER (≥ 120 bits of entropy; CA/B Forum asks for 64). Randomness is drawn in 4 KiB
 * batches because one randomBytes call per certificate costs more than building the whole TBS.
 */
export function randomSerial(): Buffer {
  if (randomOffset + 16 > randomPool.length) {
    randomPool = randomFillSync(Buffer.allocUnsafe(4096));
    randomOffset = 0;
  }
  const out = Buffer.allocUnsafe(18);
  out[0] = 0x02;
  out[1] = 16;
  randomPool.copy(out, 2, randomOffset, randomOffset + 16);
  randomPool.fill(0, randomOffset, randomOffset + 16);
  randomOffset += 16;
  out[2] = (out[2] ?? 0) & 0x7f || 0x01;
  return out;
}

/** How a CA key signs: the AlgorithmIdentifier to write and the digest to pass to crypto.sign. */
export interface SignatureScheme {
  /** Human name, e.g. `ecdsa-with-SHA256`. */
  readonly name: string;
  /** AlgorithmIdentifier DER (signature field of the TBS and of the Certificate). */
  readonly algorithmIdentifier: Buffer;
  /** Digest for crypto.sign; null for Ed25519 (pure EdDSA). */
  readonly digest: string | null;
}

const ECDSA_SCHEMES: Readonly<Record<string, readonly [string, string, string]>> = {
  prime256v1: ['ecdsa-with-SHA256', Oid.ecdsaWithSha256, 'sha256'],
  secp384r1: ['ecdsa-with-SHA384', Oid.ecdsaWithSha384, 'sha384'],
  secp521r1: ['ecdsa-with-SHA512', Oid.ecdsaWithSha512, 'sha512'],
};

/**
 * The signature scheme for a CA private key: ECDSA P-256/P-384/P-521 with the matching SHA-2, RSA with
 * SHA-256 (PKCS #1 v1.5, what every TLS stack accepts), or Ed25519. Anything else is refused.
 */
export function signatureSchemeFor(key: KeyObject): SignatureScheme {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    const scheme = ECDSA_SCHEMES[curve];
    if (scheme === undefined) {
      throw new InjectorError(
        ErrorCode.PkiUnsupportedKey,
        `CA key: EC curve ${curve} is not supported; expected P-256, P-384 or P-521`,
      );
    }
    return { name: scheme[0], algorithmIdentifier: sequence(oid(scheme[1])), digest: scheme[2] };
  }
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) {
      throw new InjectorError(
        ErrorCode.PkiUnsupportedKey,
        `CA key: RSA-${bits} is too weak; expected at least 2048 bits`,
      );
    }
    return {
      name: 'sha256WithRSAEncryption',
      algorithmIdentifier: sequence(oid(Oid.sha256WithRsa), nullValue()),
      digest: 'sha256',
    };
  }
  if (type === 'ed25519') {
    return { name: 'Ed25519', algorithmIdentifier: sequence(oid(Oid.ed25519)), digest: null };
  }
  throw new InjectorError(
    ErrorCode.PkiUnsupportedKey,
    `CA key: type ${type ?? 'unknown'} is not supported; expected ECDSA, RSA or Ed25519`,
  );
}

/** `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }`. */
export function signCertificate(tbs: Buffer, scheme: SignatureScheme, key: KeyObject): Buffer {
  const signature = sign(scheme.digest, tbs, key);
  return sequence(tbs, scheme.algorithmIdentifier, bitString(signature));
}
