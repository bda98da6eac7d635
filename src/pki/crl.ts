/**
 * X.509 v2 CRLs (RFC 5280 §5) signed by an issuing CA: one per CA, listing the revoked serials it issued, with
 * a CRL number, thisUpdate/nextUpdate, the CA's AuthorityKeyIdentifier and a reason code per entry. Entries
 * drop out once their certificate has expired, so the list stays as short as the leaves are short-lived.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';
import {
  canonicalSerial,
  REVOCATION_REASONS,
  type RevocationReason,
  serialProblem,
} from '../core/revocation.js';
import { enumerated, explicit, integer, sequence, x509Time } from './der.js';
import { extension, Oid, signCertificate } from './certificate.js';
import { readCertificateInfo } from './certificate-info.js';
import { type CertificateAuthority, issuerContextOf } from './ca.js';
import { toPem } from './pem.js';

/** One revoked certificate, as the CRL lists it. */
export interface CrlEntry {
  /** The certificate's serial, hex (any spelling canonicalSerial accepts). */
  readonly serialHex: string;
  readonly revokedAt: Date;
  readonly reason: RevocationReason;
  /** The revoked certificate's notAfter: once it (plus the grace) has passed, the entry is left out. */
  readonly notAfter: Date;
}

/** Options of buildCrl. */
export interface BuildCrlOptions {
  /** cRLNumber: must grow with every CRL this CA issues (RFC 5280 §5.2.3); at most 20 octets. */
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  /** When relying parties must have a newer CRL; after it, OpenSSL-based peers refuse every certificate. */
  readonly nextUpdate: Date;
  readonly entries: readonly CrlEntry[];
  /**
   * Entries stay listed this long past their certificate's notAfter, for peers whose clocks run behind
   * (faults F5: ±5 min). Default 300.
   */
  readonly pruneGraceSeconds?: number;
}

/** A signed CRL. */
export interface IssuedCrl {
  readonly der: Buffer;
  /** `-----BEGIN X509 CRL-----`, the form nginx, Envoy, node:tls and openssl read. */
  readonly pem: string;
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** Serials listed (canonical hex), in CRL order. */
  readonly listed: readonly string[];
  /** Entries left out because their certificate had expired. */
  readonly pruned: number;
}

/** Default of BuildCrlOptions.pruneGraceSeconds. */
export const CRL_PRUNE_GRACE_SECONDS = 300;

const MAX_CRL_NUMBER = (1n << 159n) - 1n; // 20 octets, positive

/**
 * Builds and signs the CRL of `ca`. Throws InjectorError: MTLS_ERR_USAGE for a bad serial, CRL number or
 * window; MTLS_ERR_PKI_CA_EXPIRED / _CA_NOT_YET_VALID when the CA cannot sign at thisUpdate;
 * MTLS_ERR_PKI_CA_NO_CRL_SIGN when the CA certificate's keyUsage lacks cRLSign (peers would refuse the CRL).
 */
export function buildCrl(ca: CertificateAuthority, options: BuildCrlOptions): IssuedCrl {
  const issuer = issuerContextOf(ca);
  checkCanSign(ca, options);
  const grace = options.pruneGraceSeconds ?? CRL_PRUNE_GRACE_SECONDS;
  const cutoff = options.thisUpdate.getTime() - grace * 1000;

  const kept = new Map<string, CrlEntry>();
  let pruned = 0;
  for (const entry of options.entries) {
    const problem = serialProblem(entry.serialHex);
    if (problem !== undefined) throw new InjectorError(ErrorCode.UsageInvalid, `CRL entry: ${problem}`);
    if (entry.notAfter.getTime() < cutoff) {
      pruned += 1;
      continue;
    }
    const serial = canonicalSerial(entry.serialHex);
    const seen = kept.get(serial);
    if (seen === undefined || entry.revokedAt < seen.revokedAt) kept.set(serial, entry);
  }
  const ordered = [...kept.entries()].sort(
    ([a, x], [b, y]) => x.revokedAt.getTime() - y.revokedAt.getTime() || (a < b ? -1 : a > b ? 1 : 0),
  );

  const revoked = ordered.map(([serial, entry]) => revokedCertificate(serial, entry));
  const tbs = sequence(
    integer(1), // v2
    issuer.scheme.algorithmIdentifier,
    issuer.issuerName,
    x509Time(options.thisUpdate),
    x509Time(options.nextUpdate),
    ...(revoked.length === 0 ? [] : [sequence(...revoked)]), // RFC 5280: absent, not empty, when none
    explicit(
      0,
      sequence(issuer.authorityKeyIdExtension, extension(Oid.cRLNumber, false, integer(options.crlNumber))),
    ),
  );
  // A CertificateList has the same outer shape as a Certificate: tbs, algorithm, signature BIT STRING.
  const der = signCertificate(tbs, issuer.scheme, issuer.key);
  return {
    der,
    pem: toPem('X509 CRL', der),
    crlNumber: options.crlNumber,
    thisUpdate: wholeSeconds(options.thisUpdate),
    nextUpdate: wholeSeconds(options.nextUpdate),
    listed: ordered.map(([serial]) => serial),
    pruned,
  };
}

const REASON_EXTENSIONS = new Map<number, Buffer>();

/** `SEQUENCE { userCertificate, revocationDate, crlEntryExtensions }`; no reasonCode for unspecified. */
function revokedCertificate(serial: string, entry: CrlEntry): Buffer {
  const code = REVOCATION_REASONS[entry.reason];
  const serialDer = integer(Buffer.from(serial, 'hex'));
  const date = x509Time(entry.revokedAt);
  // RFC 5280 §5.3.1: the reasonCode extension SHOULD be absent rather than say unspecified (0).
  if (code === REVOCATION_REASONS.unspecified) return sequence(serialDer, date);
  let reason = REASON_EXTENSIONS.get(code);
  if (reason === undefined) {
    reason = sequence(extension(Oid.reasonCode, false, enumerated(code)));
    REASON_EXTENSIONS.set(code, reason);
  }
  return sequence(serialDer, date, reason);
}

function checkCanSign(ca: CertificateAuthority, options: BuildCrlOptions): void {
  const { thisUpdate, nextUpdate, crlNumber } = options;
  if (!(nextUpdate.getTime() > thisUpdate.getTime())) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `CRL: nextUpdate ${nextUpdate.toISOString()} is not after thisUpdate ${thisUpdate.toISOString()}; expected a later nextUpdate`,
    );
  }
  if (crlNumber < 0n || crlNumber > MAX_CRL_NUMBER) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `CRL: number ${crlNumber} is out of range; expected 0 to 2^159-1 (20 octets, RFC 5280 §5.2.3)`,
    );
  }
  if (thisUpdate.getTime() >= ca.notAfter.getTime()) {
    throw new InjectorError(
      ErrorCode.PkiCaExpired,
      `CRL: the issuing CA expired at ${ca.notAfter.toISOString()} (thisUpdate ${thisUpdate.toISOString()}); ` +
        'expected a valid CA: rotate the CA',
    );
  }
  if (thisUpdate.getTime() < ca.notBefore.getTime()) {
    throw new InjectorError(
      ErrorCode.PkiCaNotYetValid,
      `CRL: the issuing CA is not valid before ${ca.notBefore.toISOString()} (thisUpdate ${thisUpdate.toISOString()}); ` +
        'expected a valid CA: check the clock',
    );
  }
  const usage = readCertificateInfo(ca.certificate.raw, 'issuing CA certificate').keyUsage;
  if (usage !== undefined && !usage.has('cRLSign')) {
    throw new InjectorError(
      ErrorCode.PkiCaNoCrlSign,
      `CRL: the issuing CA ${ca.certificate.subject.replace(/\n/g, ', ')} has keyUsage without cRLSign, so peers ` +
        'would refuse its CRLs; expected keyUsage keyCertSign and cRLSign: reissue the intermediate with cRLSign',
    );
  }
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
