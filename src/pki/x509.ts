/**
 * Questions about one PEM certificate for callers outside src/pki, which hold no X509Certificate themselves:
 * who signed it, and which host it serves. Each answers false for input that does not parse.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
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
