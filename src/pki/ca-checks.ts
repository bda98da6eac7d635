/**
 * The checks loadCa makes on a CA it is given: every certificate parsed with its facts, the key read, each CA
 * certificate's flags, path length and validity, and who issued whom. Each refusal is an InjectorError that
 * names the certificate and says what to do.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { ErrorCode, InjectorError } from '../core/errors.js';
import { type CertificateInfo, readCertificateInfo } from './certificate-info.js';
import { badPem, splitPem, toPem } from './pem.js';

/** A certificate with its facts and a label for messages. */
export interface ParsedCertificate {
  readonly cert: X509Certificate;
  readonly info: CertificateInfo;
  /** `"CN=…, O=…"` for messages. */
  readonly label: string;
}

/** Every CERTIFICATE block of `pem`, parsed. Throws BAD_PEM naming `what` and the block number. */
export function parseCertificates(pem: string, what: string): ParsedCertificate[] {
  return splitPem(pem, what)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((block, index) => {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block.der);
      } catch (err) {
        throw badPem(what, `certificate ${index + 1} cannot be parsed`, err);
      }
      return {
        cert,
        info: readCertificateInfo(block.der, `${what} certificate ${index + 1}`),
        label: labelOf(cert),
      };
    });
}

/**
 * A one-line, quoted subject for messages. Node 20 returns `subject` undefined for an empty Name although its
 * type says string, hence the fallback.
 */
export function labelOf(cert: X509Certificate): string {
  const subject = (cert.subject as string | undefined) ?? '';
  return JSON.stringify(subject.split('\n').join(', '));
}

const KEY_LABELS = new Set(['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY']);

/** The CA key (PKCS#8, SEC1 or PKCS#1, unencrypted), and its PKCS#8 PEM. */
export function parseCaKey(pem: string): { key: KeyObject; keyPem: string } {
  const blocks = splitPem(pem, 'CA key (tls.key)');
  if (blocks.some((b) => b.label === 'ENCRYPTED PRIVATE KEY')) {
    throw badPem(
      'CA key (tls.key)',
      'the key is encrypted; expected an unencrypted key (openssl pkey -in KEY -out PLAIN)',
    );
  }
  const block = blocks.find((b) => KEY_LABELS.has(b.label));
  if (block === undefined) throw badPem('CA key (tls.key)', 'expected a PRIVATE KEY block, found none');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: toPem(block.label, block.der), format: 'pem' });
  } catch (err) {
    throw badPem('CA key (tls.key)', `the ${block.label} block cannot be parsed`, err);
  }
  return { key, keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** CA:TRUE, keyCertSign, path length and validity of a CA on the path (`below` CA certificates under it). */
export function checkCaCertificate(ca: ParsedCertificate, now: Date, below = 0): void {
  const which = below === 0 ? `CA certificate ${ca.label}` : `CA chain certificate ${ca.label}`;
  const bc = ca.info.basicConstraints;
  if (bc?.ca !== true) {
    throw new InjectorError(
      ErrorCode.PkiCaNotCa,
      `${which} is not a CA (basicConstraints CA:TRUE ${bc === undefined ? 'absent' : 'false'}); ` +
        'expected a CA certificate: ask your PKI for an intermediate with CA:TRUE, not a leaf',
    );
  }
  if (ca.info.keyUsage?.has('keyCertSign') !== true) {
    throw new InjectorError(
      ErrorCode.PkiCaNoKeyCertSign,
      `${which} lacks keyUsage keyCertSign (${ca.info.keyUsage === undefined ? 'no keyUsage extension' : 'not set'}); ` +
        'expected keyUsage keyCertSign (and cRLSign): reissue the CA with those usages',
    );
  }
  if (bc.pathLength !== undefined && bc.pathLength < below) {
    throw new InjectorError(
      ErrorCode.PkiCaChainInvalid,
      `${which} has pathLenConstraint ${bc.pathLength} but ${below} CA certificate(s) sit below it; ` +
        'expected a chain its path length allows',
    );
  }
  if (now.getTime() < ca.info.notBefore.getTime()) {
    throw new InjectorError(
      ErrorCode.PkiCaNotYetValid,
      `${which} is not valid before ${ca.info.notBefore.toISOString()} (now ${now.toISOString()}); ` +
        'expected a CA valid now: check this node clock, or wait until then',
    );
  }
  if (now.getTime() >= ca.info.notAfter.getTime()) {
    throw new InjectorError(
      ErrorCode.PkiCaExpired,
      `${which} expired at ${ca.info.notAfter.toISOString()} (now ${now.toISOString()}); ` +
        'expected a CA valid now: renew or replace the CA Secret',
    );
  }
}

/** True when `parent`'s subject is `child`'s issuer and `parent`'s key verifies `child`'s signature. */
export function issuedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  return child.info.issuerName.equals(parent.info.subjectName) && child.cert.verify(parent.cert.publicKey);
}

/** The certificates, each fingerprint once, in order. */
export function dedupe(certs: readonly ParsedCertificate[]): ParsedCertificate[] {
  const seen = new Set<string>();
  return certs.filter((c) => !seen.has(c.cert.fingerprint256) && seen.add(c.cert.fingerprint256));
}

/**
 * The trust anchors of a checked chain (issuing CA first) and the full path to one of them: the given bundle
 * (ca.crt), or the chain's own self-signed root when no bundle is given. Refuses a chain no anchor issued, a
 * self-signed root missing from the bundle, and an anchor that is no valid CA now.
 */
export function anchorChain(
  chain: readonly ParsedCertificate[],
  bundlePem: string | undefined,
  now: Date,
): { anchors: ParsedCertificate[]; path: ParsedCertificate[]; lastIsRoot: boolean } {
  const last = chain[chain.length - 1] as ParsedCertificate;
  const lastIsRoot = issuedBy(last, last);
  let anchors: ParsedCertificate[];
  if (bundlePem !== undefined && bundlePem.trim() !== '') {
    anchors = parseCertificates(bundlePem, 'trust bundle (ca.crt)');
    if (anchors.length === 0)
      throw badPem('trust bundle (ca.crt)', 'expected at least one CERTIFICATE block');
  } else if (lastIsRoot) {
    anchors = [last];
  } else {
    throw new InjectorError(
      ErrorCode.PkiCaChainInvalid,
      `CA chain: ${last.label} is not self-signed and no trust bundle was given; ` +
        'expected ca.crt with the root that issued it (or the root appended to tls.crt)',
    );
  }

  const path = [...chain];
  if (lastIsRoot) {
    if (!anchors.some((a) => a.cert.fingerprint256 === last.cert.fingerprint256)) {
      throw new InjectorError(
        ErrorCode.PkiCaChainInvalid,
        `CA chain: root ${last.label} at the end of tls.crt is not in the trust bundle (ca.crt); ` +
          'expected ca.crt to contain it, or workloads would not trust the leaves',
      );
    }
  } else {
    const anchor = anchors.find((a) => issuedBy(last, a));
    if (anchor === undefined) {
      throw new InjectorError(
        ErrorCode.PkiCaChainInvalid,
        `CA chain: no certificate in the trust bundle (ca.crt) issued ${last.label}; ` +
          'expected ca.crt to hold the root of this chain and tls.crt to hold every intermediate',
      );
    }
    checkCaCertificate(anchor, now, chain.length);
    path.push(anchor);
  }

  return { anchors, path, lastIsRoot };
}

/** Refuses a duration that is not a finite number of at least `min` seconds. */
export function checkSeconds(what: string, value: number, min: number): void {
  if (!Number.isFinite(value) || value < min) {
    throw new InjectorError(ErrorCode.UsageInvalid, `${what}: expected a number >= ${min}, got ${value}`);
  }
}
