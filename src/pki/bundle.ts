/**
 * Trust bundles: the roots workloads trust (ca.crt). During a CA rotation a bundle holds old and new roots,
 * so every operation here works on several certificates and identifies them by SHA-256 fingerprint.
 */
import { X509Certificate } from 'node:crypto';
import { badPem, pemBlocksOf, toPem } from './pem.js';

/**
 * Every CERTIFICATE in a PEM bundle, in order. Throws MTLS_ERR_PKI_BAD_PEM naming `what` when the text holds
 * no certificate or one cannot be parsed. Other block types are ignored.
 */
export function parseBundle(pem: string, what = 'trust bundle'): X509Certificate[] {
  return pemBlocksOf(pem, 'CERTIFICATE', what).map((der, index) => {
    try {
      return new X509Certificate(der);
    } catch (err) {
      throw badPem(what, `certificate ${index + 1} cannot be parsed`, err);
    }
  });
}

/** PEM of certificates, one block each, in order. */
function bundleToPem(certs: readonly X509Certificate[]): string {
  return certs.map((cert) => toPem('CERTIFICATE', cert.raw)).join('');
}

/**
 * One bundle holding every distinct certificate of `pems`, in first-seen order (duplicates by SHA-256
 * fingerprint dropped). Empty inputs are skipped; the result is re-encoded canonical PEM.
 */
export function mergeBundles(...pems: readonly string[]): string {
  const seen = new Set<string>();
  const out: X509Certificate[] = [];
  pems.forEach((pem, index) => {
    if (pem.trim() === '') return;
    for (const cert of parseBundle(pem, `trust bundle ${index + 1}`)) {
      if (seen.has(cert.fingerprint256)) continue;
      seen.add(cert.fingerprint256);
      out.push(cert);
    }
  });
  return bundleToPem(out);
}

/** The bundle without `cert` (matched by fingerprint); the input when it is not there. */
export function removeFromBundle(bundlePem: string, cert: X509Certificate | string): string {
  const fingerprint = fingerprintOf(cert);
  return bundleToPem(parseBundle(bundlePem).filter((c) => c.fingerprint256 !== fingerprint));
}

/** True when the bundle holds `cert` (a certificate or its PEM), compared by SHA-256 fingerprint. */
export function bundleContains(bundlePem: string, cert: X509Certificate | string): boolean {
  const fingerprint = fingerprintOf(cert);
  return parseBundle(bundlePem).some((c) => c.fingerprint256 === fingerprint);
}

/** SHA-256 fingerprints (`AB:CD:…`) of every certificate in the bundle, in order. */
export function bundleFingerprints(bundlePem: string): string[] {
  return parseBundle(bundlePem).map((c) => c.fingerprint256);
}

function fingerprintOf(cert: X509Certificate | string): string {
  if (typeof cert !== 'string') return cert.fingerprint256;
  const [first] = parseBundle(cert, 'certificate');
  return (first as X509Certificate).fingerprint256;
}
