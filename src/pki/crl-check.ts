/**
 * Is a mounted leaf on its issuer's CRL? The question mtls-init and `check` ask of tls.crt, ca.crt and ca.crl.
 * ca.crl may hold one CRL per issuing CA (during a CA rotation); only a CRL that names the leaf's issuer and is
 * signed by the certificate that signed the leaf counts. Outcomes are data, never exceptions.
 */
import type { X509Certificate } from 'node:crypto';
import { isInjectorError } from '../core/errors.js';
import { canonicalSerial } from '../core/revocation.js';
import { parseBundle } from './bundle.js';
import { readCertificateInfo } from './certificate-info.js';
import { type CrlInfo, crlSignedBy, parseCrls } from './crl-reader.js';

/** What the CRL of the leaf's issuer says. */
export interface CrlFacts {
  /** Decimal. */
  readonly crlNumber: string | null;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | null;
  /** How many certificates it lists. */
  readonly entries: number;
}

/** A problem with ca.crl itself (not with the leaf). */
export interface CrlProblem {
  readonly code: 'bad_crl' | 'crl_signature' | 'crl_expired' | 'crl_not_yet_valid';
  readonly message: string;
}

/** The leaf's revocation status. */
export type RevocationStatus =
  | {
      readonly kind: 'revoked';
      readonly serialHex: string;
      readonly reason: string | undefined;
      readonly revokedAt: Date;
      readonly crl: CrlFacts;
      /** Every serial that CRL lists (canonical hex). */
      readonly listed: ReadonlySet<string>;
    }
  | {
      readonly kind: 'not_revoked';
      readonly serialHex: string;
      readonly crl: CrlFacts;
      readonly listed: ReadonlySet<string>;
    }
  /** No CRL of the leaf's issuer to consult (no ca.crl, or none naming this issuer). */
  | { readonly kind: 'no_crl'; readonly serialHex: string | undefined; readonly why: string };

/** Input of leafRevocation: the files of a workload Secret or of the mounted volume. */
export interface LeafRevocationInput {
  /** tls.crt: the leaf first, then intermediates. */
  readonly certChainPem: string;
  /** ca.crt: the roots (the issuer of a leaf from a generated root is there). */
  readonly trustBundlePem: string;
  /** ca.crl: zero or more CRLs; undefined or blank when there is none. */
  readonly crlPem: string | undefined;
  readonly now: Date;
}

/**
 * The revocation status of the first certificate of tls.crt per ca.crl, and any problem with the CRL that
 * applies to it: unreadable (`bad_crl`), a CRL carrying the key identifier of the leaf's issuer but not signed
 * by it (`crl_signature`), past its nextUpdate (`crl_expired`: OpenSSL-based peers then refuse every certificate),
 * or not yet valid (`crl_not_yet_valid`).
 */
export function leafRevocation(input: LeafRevocationInput): {
  readonly status: RevocationStatus;
  readonly problems: readonly CrlProblem[];
} {
  const problems: CrlProblem[] = [];
  const certificates = safeParse(input.certChainPem, 'tls.crt');
  const [leaf, ...rest] = certificates;
  if (leaf === undefined) {
    return {
      status: { kind: 'no_crl', serialHex: undefined, why: 'tls.crt holds no certificate' },
      problems,
    };
  }
  const serialHex = canonicalSerial(leaf.serialNumber);
  if (input.crlPem === undefined || input.crlPem.trim() === '') {
    return { status: { kind: 'no_crl', serialHex, why: 'no ca.crl' }, problems };
  }
  let crls: CrlInfo[];
  try {
    crls = parseCrls(input.crlPem);
  } catch (err) {
    const message = isInjectorError(err) ? err.message : 'ca.crl cannot be parsed';
    problems.push({ code: 'bad_crl', message });
    return { status: { kind: 'no_crl', serialHex, why: 'ca.crl cannot be parsed' }, problems };
  }
  const leafInfo = readCertificateInfo(leaf.raw, 'tls.crt leaf');
  const named = crls.filter((crl) => crl.issuerName.equals(leafInfo.issuerName));
  if (named.length === 0) {
    return {
      status: {
        kind: 'no_crl',
        serialHex,
        why: `ca.crl holds no CRL of the leaf's issuer (${crls.length} CRLs)`,
      },
      problems,
    };
  }
  const issuers = [...rest, ...safeParse(input.trustBundlePem, 'ca.crt')].filter((c) => signedLeaf(leaf, c));
  if (issuers.length === 0) {
    const why = "the leaf's issuer is in neither tls.crt nor ca.crt, so no CRL can be checked";
    return { status: { kind: 'no_crl', serialHex, why }, problems };
  }
  const signed = named.filter((crl) => issuers.some((issuer) => crlSignedBy(crl, issuer)));
  // Generated roots share one subject name, so during a CA rotation the other CA's CRL names this issuer
  // too; only a CRL that also carries this issuer's key identifier and still fails the signature is forged.
  const forged = named.filter(
    (crl) =>
      !signed.includes(crl) &&
      crl.authorityKeyId !== undefined &&
      leafInfo.authorityKeyId !== undefined &&
      crl.authorityKeyId.equals(leafInfo.authorityKeyId),
  );
  if (forged.length > 0) {
    problems.push({
      code: 'crl_signature',
      message: `ca.crl: ${forged.length} CRL(s) carry the key identifier of the leaf's issuer but are not signed by it; they are ignored`,
    });
  }
  const crl = newest(signed);
  if (crl === undefined) {
    return {
      status: { kind: 'no_crl', serialHex, why: "no CRL in ca.crl is signed by the leaf's issuer" },
      problems,
    };
  }
  const facts: CrlFacts = {
    crlNumber: crl.crlNumber === undefined ? null : crl.crlNumber.toString(),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate ?? null,
    entries: crl.revoked.size,
  };
  if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < input.now.getTime()) {
    problems.push({
      code: 'crl_expired',
      message: `ca.crl: the CRL's nextUpdate ${crl.nextUpdate.toISOString()} has passed; peers that check CRLs with OpenSSL (nginx, node:tls, Envoy) refuse every certificate of this CA until it is refreshed`,
    });
  }
  if (crl.thisUpdate.getTime() > input.now.getTime()) {
    problems.push({
      code: 'crl_not_yet_valid',
      message: `ca.crl: the CRL's thisUpdate ${crl.thisUpdate.toISOString()} is in the future; check this node's clock`,
    });
  }
  const entry = crl.revoked.get(serialHex);
  const listed = new Set(crl.revoked.keys());
  return {
    status:
      entry === undefined
        ? { kind: 'not_revoked', serialHex, crl: facts, listed }
        : {
            kind: 'revoked',
            serialHex,
            reason: entry.reason,
            revokedAt: entry.revokedAt,
            crl: facts,
            listed,
          },
    problems,
  };
}

/** The CRL with the highest number (then the latest thisUpdate). */
function newest(crls: readonly CrlInfo[]): CrlInfo | undefined {
  let best: CrlInfo | undefined;
  for (const crl of crls) {
    if (
      best === undefined ||
      (crl.crlNumber ?? -1n) > (best.crlNumber ?? -1n) ||
      ((crl.crlNumber ?? -1n) === (best.crlNumber ?? -1n) && crl.thisUpdate > best.thisUpdate)
    ) {
      best = crl;
    }
  }
  return best;
}

function signedLeaf(leaf: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function safeParse(pem: string, what: string): X509Certificate[] {
  try {
    return pem.trim() === '' ? [] : parseBundle(pem, what);
  } catch {
    return [];
  }
}
