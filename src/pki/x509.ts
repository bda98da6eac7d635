/**
 * Questions about one PEM certificate for callers outside src/pki, which hold no X509Certificate themselves:
 * who signed it, which host it serves, and what revocation needs to know of it. Each answers false (or
 * undefined) for input that does not parse.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { canonicalSerial } from '../core/revocation.js';
import { readCertificateInfo } from './certificate-info.js';
import { splitPem } from './pem.js';

/** The first CERTIFICATE of `pem`, parsed, or undefined. */
function firstCertificate(pem: string, what: string): X509Certificate | undefined {
  try {
    const block = splitPem(pem, what).find((b) => b.label === 'CERTIFICATE');
    return block === undefined ? undefined : new X509Certificate(block.der);
  } catch {
    return undefined;
  }
}

/** Whether the first certificate of `certPem` carries a signature made with the key of `issuerPem`'s first. */
export function signedBy(certPem: string, issuerPem: string): boolean {
  const cert = firstCertificate(certPem, 'certificate');
  const issuer = firstCertificate(issuerPem, 'issuer certificate');
  if (cert === undefined || issuer === undefined) return false;
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Whether the first certificate of `certPem` is valid for `host`: a DNS name, or an IP address SAN. */
export function coversHost(certPem: string, host: string): boolean {
  const cert = firstCertificate(certPem, 'certificate');
  if (cert === undefined) return false;
  return isIP(host) !== 0 ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined;
}

/** What revocation needs to know about the first certificate of a PEM chain. */
export interface LeafSummary {
  /** Canonical hex (canonicalSerial). */
  readonly serialHex: string;
  readonly notAfter: Date;
  /** Its AuthorityKeyIdentifier (hex): the SubjectKeyIdentifier of the CA that issued it, when present. */
  readonly issuerKeyIdHex: string | undefined;
  /** Its one URI SAN, when it has exactly one. */
  readonly spiffeId: string | undefined;
}

/** The serial, notAfter, issuer key identifier and SPIFFE ID of the first certificate of `certPem`, or undefined. */
export function leafSummary(certPem: string): LeafSummary | undefined {
  try {
    const block = splitPem(certPem, 'certificate').find((b) => b.label === 'CERTIFICATE');
    if (block === undefined) return undefined;
    const info = readCertificateInfo(block.der);
    return {
      serialHex: canonicalSerial(info.serialHex),
      notAfter: info.notAfter,
      issuerKeyIdHex: info.authorityKeyId?.toString('hex'),
      spiffeId: info.uris.length === 1 ? info.uris[0] : undefined,
    };
  } catch {
    return undefined;
  }
}
