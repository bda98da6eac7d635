/**
 * Verification of an issued identity with node:crypto's X509Certificate: chain to a root of the trust bundle
 * (signatures, validity, CA flags, path length), key/certificate match, and the SPIFFE ID. Expected outcomes are
 * data (a list of problems with stable codes), never exceptions. No message carries PEM or key bytes.
 */
import { isInjectorError } from '../core/errors.js';
import { Oid } from './certificate.js';
import { extendedKeyUsages, Parsed } from './parsed-certificate.js';
import { keyMatchProblem } from './key-match.js';
import { splitPem } from './pem.js';

/** Stable problem codes: mtls-init, `check` and the rotator switch on them. */
export type VerifyProblemCode =
  | 'bad_pem'
  | 'no_certificate'
  | 'bad_key'
  | 'key_mismatch'
  | 'expired'
  | 'not_yet_valid'
  | 'untrusted'
  | 'not_a_leaf'
  | 'bad_usage'
  | 'no_spiffe_id'
  | 'multiple_uri_sans'
  | 'wrong_identity';

/** One reason a certificate set is not usable. */
export interface VerifyProblem {
  readonly code: VerifyProblemCode;
  readonly message: string;
}

/** What the leaf says about itself (filled whenever the leaf parses, even when there are problems). */
export interface LeafFacts {
  readonly spiffeId: string | undefined;
  readonly dnsNames: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialHex: string;
  /** One-line subject, for messages. */
  readonly subject: string;
  readonly fingerprint256: string;
}

/** The outcome of verifyLeaf. */
export interface VerifyResult {
  readonly ok: boolean;
  readonly problems: readonly VerifyProblem[];
  readonly leaf: LeafFacts | undefined;
}

/** Input of verifyLeaf: the three files of a workload Secret, the time, and what to expect. */
export interface VerifyLeafInput {
  /** tls.crt: the leaf first, then intermediates. */
  readonly certChainPem: string;
  /** tls.key; the key match is skipped when absent. */
  readonly keyPem?: string | undefined;
  /** ca.crt: every root to trust. */
  readonly trustBundlePem: string;
  readonly now: Date;
  /** The SPIFFE ID the leaf must carry, e.g. from the pod's namespace and service account. */
  readonly expectedSpiffeId?: string | undefined;
  /** Require exactly one URI SAN (default true; false for DNS-only serving certificates). */
  readonly requireSpiffeId?: boolean | undefined;
}

/** Verifies a leaf with its chain, key and identity; every problem found is reported, in a stable order. */
export function verifyLeaf(input: VerifyLeafInput): VerifyResult {
  const problems: VerifyProblem[] = [];
  const chain = parseAll(input.certChainPem, 'certificate chain (tls.crt)', problems);
  const roots = parseBundleCached(input.trustBundlePem, problems);
  const [leaf] = chain;
  if (leaf === undefined) {
    if (!problems.some((p) => p.message.startsWith('certificate chain'))) {
      problems.push({ code: 'no_certificate', message: 'certificate chain (tls.crt): holds no certificate' });
    }
    return { ok: false, problems, leaf: undefined };
  }
  if (roots.length === 0 && !problems.some((p) => p.message.startsWith('trust bundle'))) {
    problems.push({ code: 'no_certificate', message: 'trust bundle (ca.crt): holds no certificate' });
  }
  if (roots.length > 0) problems.push(...verifyChain(chain, roots, input.now));

  const facts = leafFactsOf(leaf);
  problems.push(...identityProblems(leaf, input.expectedSpiffeId, input.requireSpiffeId ?? true));
  if (input.keyPem !== undefined) {
    const keyProblem = keyMatchProblem(() => leaf.cert, input.keyPem, leaf.info.publicKeyBits);
    if (keyProblem !== undefined) problems.push(keyProblem);
  }
  return { ok: problems.length === 0, problems, leaf: facts };
}

/**
 * Builds a path from `chain[0]` through `chain[1..]` to any of `roots` and checks it at `now`: each signature,
 * each validity window, CA:TRUE and keyCertSign on every issuer, path lengths, and that the leaf is not a CA.
 */
function verifyChain(chain: readonly Parsed[], roots: readonly Parsed[], now: Date): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const [leaf, ...intermediates] = chain;
  if (leaf === undefined) return [{ code: 'no_certificate', message: 'certificate chain: empty' }];
  if (leaf.info.basicConstraints?.ca === true) {
    problems.push({
      code: 'not_a_leaf',
      message: `certificate ${leaf.label} is a CA (CA:TRUE); expected a leaf`,
    });
  }
  const path: Parsed[] = [leaf];
  // a certificate is a root of the bundle when its DER is one of theirs (no digest of every leaf)
  const isRoot = (c: Parsed): boolean => roots.some((r) => r.der.equals(c.der));
  let current = leaf;
  let trusted = isRoot(leaf);
  while (!trusted && path.length <= 8) {
    const anchor = roots.find((r) => issuedBy(current, r));
    if (anchor !== undefined) {
      path.push(anchor);
      trusted = true;
      break;
    }
    const next = intermediates.find((c) => !path.includes(c) && issuedBy(current, c));
    if (next === undefined) break;
    path.push(next);
    current = next;
    trusted = isRoot(next);
  }
  if (!trusted) {
    problems.push({
      code: 'untrusted',
      message: `certificate ${current.label} was not issued by any root of the trust bundle nor by a certificate of the chain; expected a chain to a trusted root`,
    });
  }
  path.forEach((cert, index) => {
    const which = index === 0 ? 'certificate' : 'issuer';
    if (now.getTime() < cert.info.notBefore.getTime()) {
      problems.push({
        code: 'not_yet_valid',
        message: `${which} ${cert.label} is not valid before ${cert.info.notBefore.toISOString()} (now ${now.toISOString()})`,
      });
    } else if (now.getTime() > cert.info.notAfter.getTime()) {
      problems.push({
        code: 'expired',
        message: `${which} ${cert.label} expired at ${cert.info.notAfter.toISOString()} (now ${now.toISOString()})`,
      });
    }
    if (index === 0) return;
    const bc = cert.info.basicConstraints;
    if (bc?.ca !== true || cert.info.keyUsage?.has('keyCertSign') !== true) {
      problems.push({
        code: 'untrusted',
        message: `issuer ${cert.label} is not a CA with keyCertSign; expected CA:TRUE and keyUsage keyCertSign`,
      });
    } else if (bc.pathLength !== undefined && bc.pathLength < index - 1) {
      problems.push({
        code: 'untrusted',
        message: `issuer ${cert.label} allows ${bc.pathLength} intermediate(s) below it; the chain has ${index - 1}`,
      });
    }
  });
  return problems;
}

/** SPIFFE X509-SVID rules for the leaf: exactly one URI SAN, the expected one, and both TLS usages. */
function identityProblems(leaf: Parsed, expected: string | undefined, required: boolean): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const { uris } = leaf.info;
  if (uris.length > 1) {
    problems.push({
      code: 'multiple_uri_sans',
      message: `certificate ${leaf.label} has ${uris.length} URI SANs; expected exactly one SPIFFE ID`,
    });
  } else if (uris.length === 0 && (required || expected !== undefined)) {
    problems.push({
      code: 'no_spiffe_id',
      message: `certificate ${leaf.label} has no URI SAN; expected a SPIFFE ID`,
    });
  } else if (uris[0] !== undefined && !uris[0].startsWith('spiffe://')) {
    problems.push({
      code: 'no_spiffe_id',
      message: `certificate ${leaf.label} has URI SAN ${JSON.stringify(uris[0])}; expected a spiffe:// ID`,
    });
  } else if (expected !== undefined && uris[0] !== expected) {
    problems.push({
      code: 'wrong_identity',
      message: `certificate ${leaf.label} is for ${JSON.stringify(uris[0])}; expected ${JSON.stringify(expected)}`,
    });
  }
  const eku = extendedKeyUsages(leaf.info) ?? [];
  const missing = [Oid.serverAuth, Oid.clientAuth].filter((o) => !eku.includes(o));
  if (leaf.info.extensions.has(Oid.extKeyUsage) && missing.length > 0) {
    problems.push({
      code: 'bad_usage',
      message: `certificate ${leaf.label} lacks extended key usage ${missing.join(', ')}; expected serverAuth and clientAuth`,
    });
  }
  if (leaf.info.keyUsage !== undefined && !leaf.info.keyUsage.has('digitalSignature')) {
    problems.push({
      code: 'bad_usage',
      message: `certificate ${leaf.label} lacks keyUsage digitalSignature; expected it for TLS`,
    });
  }
  return problems;
}

/** The facts of a leaf; `spiffeId` is its first URI SAN when that is a spiffe:// URI. */
function leafFactsOf(leaf: Parsed): LeafFacts {
  const uri = leaf.info.uris[0];
  return {
    spiffeId: uri?.startsWith('spiffe://') === true ? uri : undefined,
    dnsNames: leaf.info.dnsNames,
    notBefore: leaf.info.notBefore,
    notAfter: leaf.info.notAfter,
    serialHex: leaf.info.serialHex,
    // built on first read: the subject needs node:crypto's certificate, which the checks do not
    get subject() {
      return leaf.label;
    },
    // a digest of the DER, computed on first read (the rotator's checks never read it)
    get fingerprint256() {
      return leaf.fingerprint256;
    },
  };
}

function issuedBy(child: Parsed, parent: Parsed): boolean {
  if (!child.info.issuerName.equals(parent.info.subjectName)) return false;
  try {
    return child.signedBy(parent);
  } catch {
    return false;
  }
}

/**
 * Trust bundles repeat across every Secret (there are one or two at a time), and parsing one costs ~0.5 ms:
 * keep the last few parsed. Parsed certificates are immutable, so sharing them is safe.
 */
const bundleCache = new Map<string, Parsed[]>();
const BUNDLE_CACHE_SIZE = 8;

function parseBundleCached(pem: string, problems: VerifyProblem[]): Parsed[] {
  const cached = bundleCache.get(pem);
  if (cached !== undefined) return cached;
  const found: VerifyProblem[] = [];
  const roots = parseAll(pem, 'trust bundle (ca.crt)', found);
  problems.push(...found);
  if (found.length === 0) {
    if (bundleCache.size >= BUNDLE_CACHE_SIZE) bundleCache.delete(bundleCache.keys().next().value as string);
    bundleCache.set(pem, roots);
  }
  return roots;
}

function parseAll(pem: string, what: string, problems: VerifyProblem[]): Parsed[] {
  try {
    return splitPem(pem, what)
      .filter((b) => b.label === 'CERTIFICATE')
      .map((b, index) => {
        try {
          return new Parsed(b.der);
        } catch (err) {
          throw new Error(`certificate ${index + 1} cannot be parsed`, { cause: err });
        }
      });
  } catch (err) {
    const detail = isInjectorError(err) || err instanceof Error ? err.message : 'unreadable';
    problems.push({ code: 'bad_pem', message: detail.startsWith(what) ? detail : `${what}: ${detail}` });
    return [];
  }
}
