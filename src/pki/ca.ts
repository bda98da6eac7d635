/**
 * Certificate authorities: a generated self-signed root, or a bring-your-own intermediate loaded with its chain.
 * Either way the result carries everything issuance needs precomputed once (issuer Name bytes, AKI extension,
 * signature scheme, signing KeyObject), so issuing a leaf only encodes what differs per certificate.
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { trustDomainProblem } from '../core/identity.js';
import type { KeyAlgorithm } from '../core/key-algorithm.js';
import { boolean, explicit, namedBits, sequence, x509Time } from './der.js';
import {
  authorityKeyIdExtension,
  boundedAttribute,
  distinguishedName,
  extension,
  keyIdentifier,
  KeyUsageBit,
  nameConstraintsExtension,
  Oid,
  type PermittedNames,
  randomSerial,
  type SignatureScheme,
  signatureSchemeFor,
  signCertificate,
  subjectKeyIdExtension,
  VERSION_V3,
} from './certificate.js';
import {
  anchorChain,
  checkCaCertificate,
  dedupe,
  issuedBy,
  parseCaKey,
  parseCertificates,
  type ParsedCertificate,
  checkSeconds,
} from './ca-checks.js';
import { generateKeyPair, privateKeyPem, signingKeyOf } from './keys.js';
import { badPem, toPem } from './pem.js';

/** Common name of every root CA this product generates. */
const ROOT_CA_COMMON_NAME = 'mtls-injector root CA';

/**
 * An issuing CA ready to sign leaves. `keyPem` is secret and non-enumerable (absent from JSON.stringify and
 * util.inspect). `notBefore`/`notAfter` bound the window in which leaves from this CA verify: the latest
 * notBefore and the earliest notAfter along the path from the issuing CA to its trust anchor.
 */
export interface CertificateAuthority {
  /** The issuing CA certificate. */
  readonly certificate: X509Certificate;
  /** PEM of the issuing CA certificate. */
  readonly certPem: string;
  /** PEM appended after every leaf in tls.crt: the issuing CA and its intermediates, never a self-signed root. */
  readonly chainPem: string;
  /** PKCS#8 PEM of the CA key (secret). */
  readonly keyPem: string;
  /** Roots workloads trust (ca.crt): the generated root, or the bring-your-own bundle. */
  readonly trustBundlePem: string;
  /** Signature algorithm of certificates this CA issues, e.g. `ecdsa-with-SHA256`. */
  readonly signatureAlgorithm: string;
  /** SubjectKeyIdentifier of the issuing CA (hex); leaves carry it as their AuthorityKeyIdentifier. */
  readonly subjectKeyIdHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** True for a self-signed root (no chain to append). */
  readonly selfSigned: boolean;
  /** The subject O of the issuing CA (the trust domain for generated roots), when it has one. */
  readonly organization: string | undefined;
}

/** What issuance needs from a CA, kept out of the public object. */
export interface IssuerContext {
  readonly key: KeyObject;
  readonly scheme: SignatureScheme;
  readonly issuerName: Buffer;
  readonly authorityKeyIdExtension: Buffer;
}

const issuers = new WeakMap<CertificateAuthority, IssuerContext>();

/** The signing context of a CA made by generateRootCa or loadCa. */
export function issuerContextOf(ca: CertificateAuthority): IssuerContext {
  const context = issuers.get(ca);
  if (context === undefined) {
    throw new InjectorError(ErrorCode.UsageInvalid, 'CA: expected a CA returned by generateRootCa or loadCa');
  }
  return context;
}

/** Options of generateRootCa. */
export interface GenerateRootCaOptions {
  readonly keyAlgorithm: KeyAlgorithm;
  readonly trustDomain: string;
  /** Config `ca.lifetime` (default 10 years). */
  readonly lifetimeSeconds: number;
  readonly now: Date;
  /**
   * notBefore is set this far before `now` (default 3600), so leaves issued right away keep their full back-date
   * and nodes whose clocks run behind accept the root.
   */
  readonly backdateSeconds?: number;
  /** When given, a critical NameConstraints extension permitting only these names (`ca.nameConstraints`). */
  readonly permittedNames?: PermittedNames | undefined;
}

/**
 * Generates a self-signed root: subject O=<trustDomain> (cut to 64 characters), CN=mtls-injector root CA;
 * basicConstraints CA:TRUE (critical), keyUsage keyCertSign+cRLSign (critical), SubjectKeyIdentifier, and
 * with `permittedNames` a critical NameConstraints extension.
 */
export function generateRootCa(options: GenerateRootCaOptions): CertificateAuthority {
  const problem = trustDomainProblem(options.trustDomain);
  if (problem !== undefined) throw new InjectorError(ErrorCode.InvalidName, `root CA: ${problem}`);
  const backdate = options.backdateSeconds ?? 3600;
  checkSeconds('root CA lifetimeSeconds', options.lifetimeSeconds, 1);
  checkSeconds('root CA backdateSeconds', backdate, 0);

  const material = generateKeyPair(options.keyAlgorithm);
  const key = signingKeyOf(material);
  const scheme = signatureSchemeFor(key);
  const subject = distinguishedName([
    [Oid.organization, boundedAttribute(options.trustDomain)],
    [Oid.commonName, ROOT_CA_COMMON_NAME],
  ]);
  const nowSeconds = Math.floor(options.now.getTime() / 1000);
  const notBefore = new Date((nowSeconds - backdate) * 1000);
  const notAfter = new Date((nowSeconds + Math.floor(options.lifetimeSeconds)) * 1000);
  const ski = keyIdentifier(material.publicKeyBits);
  const tbs = sequence(
    VERSION_V3,
    randomSerial(),
    scheme.algorithmIdentifier,
    subject,
    sequence(x509Time(notBefore), x509Time(notAfter)),
    subject,
    material.spki,
    explicit(
      3,
      sequence(
        extension(Oid.basicConstraints, true, sequence(boolean(true))),
        extension(Oid.keyUsage, true, namedBits([KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign])),
        subjectKeyIdExtension(ski),
        ...(options.permittedNames === undefined ? [] : [nameConstraintsExtension(options.permittedNames)]),
      ),
    ),
  );
  const der = signCertificate(tbs, scheme, key);
  const certPem = toPem('CERTIFICATE', der);
  return assemble({
    certificate: new X509Certificate(der),
    certPem,
    chainPem: '',
    keyPem: privateKeyPem(material),
    trustBundlePem: certPem,
    key,
    scheme,
    issuerName: subject,
    subjectKeyId: ski,
    notBefore,
    notAfter,
    selfSigned: true,
    organization: options.trustDomain,
  });
}

/** Input of loadCa: the PEM files of a CA Secret (tls.crt, tls.key, ca.crt). */
export interface LoadCaOptions {
  /** The issuing CA certificate first, then each issuer up the chain (the root may be included or not). */
  readonly certChainPem: string;
  /** The CA private key: PKCS#8, SEC1 (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`), unencrypted. */
  readonly keyPem: string;
  /** Roots to trust. When absent, the chain must end in a self-signed root, which becomes the bundle. */
  readonly bundlePem?: string | undefined;
  readonly now: Date;
}

/**
 * Loads a CA (ours or bring-your-own) and checks it can issue now. Refuses with InjectorError:
 * MTLS_ERR_PKI_BAD_PEM, _CA_KEY_MISMATCH, _CA_NOT_CA, _CA_NO_KEY_CERT_SIGN, _CA_EXPIRED, _CA_NOT_YET_VALID,
 * _CA_CHAIN_INVALID or MTLS_ERR_PKI_UNSUPPORTED_KEY; each message names the certificate and what to do.
 */
export function loadCa(options: LoadCaOptions): CertificateAuthority {
  const chain = parseCertificates(options.certChainPem, 'CA certificate (tls.crt)');
  const [issuing] = chain;
  if (issuing === undefined)
    throw badPem('CA certificate (tls.crt)', 'expected at least one CERTIFICATE block');
  const { key, keyPem } = parseCaKey(options.keyPem);
  if (!issuing.cert.checkPrivateKey(key)) {
    throw new InjectorError(
      ErrorCode.PkiCaKeyMismatch,
      `CA key (tls.key) does not match the CA certificate ${issuing.label} (the first certificate of tls.crt); ` +
        'expected the private key of that certificate: check that both files come from the same issuance',
    );
  }
  const scheme = signatureSchemeFor(key);
  checkCaCertificate(issuing, options.now);

  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as ParsedCertificate;
    const parent = chain[i + 1] as ParsedCertificate;
    if (!issuedBy(child, parent)) {
      throw new InjectorError(
        ErrorCode.PkiCaChainInvalid,
        `CA chain: certificate ${i + 2} of tls.crt (${parent.label}) did not issue certificate ${i + 1} (${child.label}); ` +
          'expected the issuing CA first, then each issuer in order',
      );
    }
    checkCaCertificate(parent, options.now, i + 1);
  }

  const { anchors, path, lastIsRoot } = anchorChain(chain, options.bundlePem, options.now);

  const ski = issuing.info.subjectKeyId ?? keyIdentifier(issuing.info.publicKeyBits);
  const selfSigned = chain.length === 1 && lastIsRoot;
  const intermediates = chain.filter((c) => !issuedBy(c, c));
  return assemble({
    certificate: issuing.cert,
    certPem: toPem('CERTIFICATE', issuing.cert.raw),
    chainPem: intermediates.map((c) => toPem('CERTIFICATE', c.cert.raw)).join(''),
    keyPem,
    trustBundlePem: dedupe(anchors)
      .map((a) => toPem('CERTIFICATE', a.cert.raw))
      .join(''),
    key,
    scheme,
    issuerName: issuing.info.subjectName,
    subjectKeyId: ski,
    notBefore: new Date(Math.max(...path.map((c) => c.info.notBefore.getTime()))),
    notAfter: new Date(Math.min(...path.map((c) => c.info.notAfter.getTime()))),
    selfSigned,
    organization: issuing.info.subjectOrganizations[0],
  });
}

interface Parts {
  certificate: X509Certificate;
  certPem: string;
  chainPem: string;
  keyPem: string;
  trustBundlePem: string;
  key: KeyObject;
  scheme: SignatureScheme;
  issuerName: Buffer;
  subjectKeyId: Buffer;
  notBefore: Date;
  notAfter: Date;
  selfSigned: boolean;
  organization: string | undefined;
}

function assemble(parts: Parts): CertificateAuthority {
  const ca = {
    certificate: parts.certificate,
    certPem: parts.certPem,
    chainPem: parts.chainPem,
    trustBundlePem: parts.trustBundlePem,
    signatureAlgorithm: parts.scheme.name,
    subjectKeyIdHex: parts.subjectKeyId.toString('hex'),
    notBefore: parts.notBefore,
    notAfter: parts.notAfter,
    selfSigned: parts.selfSigned,
    organization: parts.organization,
  };
  Object.defineProperty(ca, 'keyPem', { value: parts.keyPem, enumerable: false });
  Object.freeze(ca);
  const frozen = ca as CertificateAuthority;
  issuers.set(frozen, {
    key: parts.key,
    scheme: parts.scheme,
    issuerName: parts.issuerName,
    authorityKeyIdExtension: authorityKeyIdExtension(parts.subjectKeyId),
  });
  return frozen;
}
