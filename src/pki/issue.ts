/**
 * Leaf issuance: SPIFFE X509-SVIDs for workloads (docs/design.md, "Identity") and DNS-only serving certificates.
 * The hot path only encodes what differs per certificate; everything constant comes precomputed.
 */
import { ErrorCode, InjectorError } from '../core/errors.js';
import { parseSpiffeId, type WorkloadIdentity, workloadIdentity } from '../core/identity.js';
import type { KeyAlgorithm } from '../core/key-algorithm.js';
import { sign } from 'node:crypto';
import { namedBits, oid, sequence, x509Time } from './der.js';
import { boundedAttribute, extension, keyIdentifier, KeyUsageBit, Oid, randomSerial } from './certificate.js';
import { type CertificateAuthority, issuerContextOf } from './ca.js';
import { generateKeyPair, type KeyMaterial, privateKeyPem } from './keys.js';
import { encodeCertificate, encodeLeafTbs } from './leaf-encoder.js';
import { toPem } from './pem.js';

/** Options of issueLeaf. At least one of spiffeId and dnsNames is required. */
export interface IssueLeafOptions {
  /** The one URI SAN, e.g. `spiffe://cluster.local/ns/demo/sa/frontend`. Omit for DNS-only serving certs. */
  readonly spiffeId?: string | undefined;
  /** DNS SANs, passed in by the caller (never taken from annotations). */
  readonly dnsNames?: readonly string[] | undefined;
  /**
   * Subject attributes. Default: O=<trust domain>, CN=<sa>.<ns> for workload IDs, CN=<first DNS name> for
   * DNS-only certificates (each cut to 64 characters). An empty subject makes the SAN extension critical.
   */
  readonly subject?: { readonly organization?: string; readonly commonName?: string } | undefined;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Config `leafLifetime`; notAfter = min(now + lifetime, CA notAfter). */
  readonly lifetimeSeconds: number;
  /** Config `backdate`; notBefore = max(now − backdate, CA notBefore). */
  readonly backdateSeconds: number;
  readonly now: Date;
  /** A pre-generated key (from createKeyPool); generated inline when absent. Must be of keyAlgorithm. */
  readonly key?: KeyMaterial | undefined;
}

/** An issued leaf. `keyPem` is secret and non-enumerable (absent from JSON.stringify and util.inspect). */
export interface IssuedLeaf {
  /** tls.crt: the leaf, then the CA chain (never the root). */
  readonly certPem: string;
  /** tls.key: PKCS#8 PEM. */
  readonly keyPem: string;
  readonly spiffeId: string | undefined;
  readonly dnsNames: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** True when notAfter was cut to the CA's notAfter (E3: warn). */
  readonly capped: boolean;
  readonly serialHex: string;
}

const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]+)((?:\/[A-Za-z0-9._-]+)+)$/;
/** A DNS name: labels of letters, digits and inner '-' (1–63 each), optionally a leading `*.` wildcard. */
const DNS_NAME =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const DOT_SEGMENT = /\/\.\.?(\/|$)/;
const RSA_KEYS: ReadonlySet<KeyAlgorithm> = new Set(['rsa-2048', 'rsa-3072']);
const MAX_SPIFFE_ID_BYTES = 2048;

/** Extensions every leaf carries, per key usage flavour (keyEncipherment only for RSA keys). */
const FIXED_EXTENSIONS = {
  signatureOnly: fixedExtensions([KeyUsageBit.digitalSignature]),
  rsa: fixedExtensions([KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment]),
};

function fixedExtensions(usages: number[]): Buffer {
  return Buffer.concat([
    extension(Oid.basicConstraints, true, sequence()),
    extension(Oid.keyUsage, true, namedBits(usages)),
    extension(Oid.extKeyUsage, false, sequence(oid(Oid.serverAuth), oid(Oid.clientAuth))),
  ]);
}

let lastValidity: { notBefore: number; notAfter: number; der: Buffer } | undefined;

/**
 * Issues a leaf signed by `ca`: exactly one URI SAN (when spiffeId is given) plus the DNS SANs passed in;
 * keyUsage digitalSignature (+keyEncipherment for RSA) critical; EKU serverAuth+clientAuth; basicConstraints
 * CA:FALSE critical; SKI and AKI. Throws MTLS_ERR_IDENTITY_INVALID_NAME for bad names and
 * MTLS_ERR_PKI_CA_EXPIRED / _CA_NOT_YET_VALID when the CA cannot issue at `now`.
 */
export function issueLeaf(ca: CertificateAuthority, options: IssueLeafOptions): IssuedLeaf {
  const { spiffeId, keyAlgorithm } = options;
  const dnsNames = options.dnsNames ?? [];
  checkNames(spiffeId, dnsNames);
  if (!(options.lifetimeSeconds >= 1) || !(options.backdateSeconds >= 0)) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `leaf: expected lifetimeSeconds >= 1 and backdateSeconds >= 0, got ${options.lifetimeSeconds} and ${options.backdateSeconds}`,
    );
  }
  const key = options.key ?? generateKeyPair(keyAlgorithm);
  if (key.algorithm !== keyAlgorithm) {
    throw new InjectorError(
      ErrorCode.UsageInvalid,
      `leaf: the supplied key is ${key.algorithm}; expected ${keyAlgorithm}`,
    );
  }

  const now = Math.floor(options.now.getTime() / 1000);
  const caNotBefore = ca.notBefore.getTime() / 1000;
  const caNotAfter = ca.notAfter.getTime() / 1000;
  if (now >= caNotAfter) {
    throw new InjectorError(
      ErrorCode.PkiCaExpired,
      `leaf: the issuing CA expired at ${ca.notAfter.toISOString()} (now ${options.now.toISOString()}); ` +
        'expected a valid CA: rotate the CA before issuing',
    );
  }
  if (now < caNotBefore) {
    throw new InjectorError(
      ErrorCode.PkiCaNotYetValid,
      `leaf: the issuing CA is not valid before ${ca.notBefore.toISOString()} (now ${options.now.toISOString()}); ` +
        'expected a valid CA: check the clock',
    );
  }
  const notBefore = Math.max(now - Math.floor(options.backdateSeconds), caNotBefore);
  const wanted = now + Math.floor(options.lifetimeSeconds);
  const capped = wanted > caNotAfter;
  const notAfter = capped ? caNotAfter : wanted;

  const { certPem, serialHex } = signLeaf(ca, {
    spiffeId,
    dnsNames,
    subject: options.subject,
    spki: key.spki,
    publicKeyBits: key.publicKeyBits,
    rsa: RSA_KEYS.has(key.algorithm),
    notBefore,
    notAfter,
  });
  const leaf = {
    certPem,
    spiffeId,
    dnsNames,
    notBefore: new Date(notBefore * 1000),
    notAfter: new Date(notAfter * 1000),
    capped,
    serialHex,
  };
  Object.defineProperty(leaf, 'keyPem', { value: privateKeyPem(key), enumerable: false });
  return leaf as IssuedLeaf;
}

/** What signLeaf encodes: the names (checked by the caller), the subject key and the validity in Unix seconds. */
export interface LeafToSign {
  readonly spiffeId: string | undefined;
  readonly dnsNames: readonly string[];
  readonly subject?: IssueLeafOptions['subject'];
  /** SubjectPublicKeyInfo DER, copied verbatim. */
  readonly spki: Buffer;
  /** The subjectPublicKey bits (SHA-1 of them is the SubjectKeyIdentifier). */
  readonly publicKeyBits: Buffer;
  /** An RSA subject key: keyUsage also carries keyEncipherment. */
  readonly rsa: boolean;
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * Encodes and signs one leaf with `ca` (the shared tail of every issuance): the leaf PEM followed by the CA
 * chain, and its serial. Names must have been checked (checkNames) and the validity fitted into the CA's.
 */
export function signLeaf(
  ca: CertificateAuthority,
  leaf: LeafToSign,
): { readonly certPem: string; readonly serialHex: string } {
  const issuer = issuerContextOf(ca);
  const [organization, commonName] = subjectAttributes(leaf.subject, leaf.spiffeId, leaf.dnsNames);
  const serial = randomSerial();
  const tbs = encodeLeafTbs({
    serial,
    signatureAlgorithm: issuer.scheme.algorithmIdentifier,
    issuerName: issuer.issuerName,
    validity: validity(leaf.notBefore, leaf.notAfter),
    organization,
    commonName,
    spki: leaf.spki,
    fixedExtensions: leaf.rsa ? FIXED_EXTENSIONS.rsa : FIXED_EXTENSIONS.signatureOnly,
    subjectKeyId: keyIdentifier(leaf.publicKeyBits),
    authorityKeyIdExtension: issuer.authorityKeyIdExtension,
    uri: leaf.spiffeId,
    dnsNames: leaf.dnsNames,
    sanCritical: organization === '' && commonName === '',
  });
  const der = encodeCertificate(
    tbs,
    issuer.scheme.algorithmIdentifier,
    sign(issuer.scheme.digest, tbs, issuer.key),
  );
  return { certPem: toPem('CERTIFICATE', der) + ca.chainPem, serialHex: serial.toString('hex', 2) };
}

/** Options of issueWorkloadIdentity: issueLeaf's, minus the names the identity decides. */
export type IssueWorkloadOptions = Omit<IssueLeafOptions, 'spiffeId' | 'subject'>;

/**
 * Issues the X509-SVID of a workload. The identity is re-derived with workloadIdentity(), which validates the
 * namespace (DNS-1123 label) and service account (DNS-1123 subdomain) and throws naming the field.
 */
export function issueWorkloadIdentity(
  ca: CertificateAuthority,
  identity: Pick<WorkloadIdentity, 'trustDomain' | 'namespace' | 'serviceAccount'>,
  options: IssueWorkloadOptions,
): IssuedLeaf & { readonly identity: WorkloadIdentity } {
  const checked = workloadIdentity(identity.trustDomain, identity.namespace, identity.serviceAccount);
  const leaf = issueLeaf(ca, { ...options, spiffeId: checked.spiffeId });
  const out = { ...leaf, identity: checked };
  Object.defineProperty(out, 'keyPem', { value: leaf.keyPem, enumerable: false });
  return out;
}

/** Throws MTLS_ERR_IDENTITY_INVALID_NAME unless the SPIFFE ID and DNS names can go into a leaf. */
export function checkNames(spiffeId: string | undefined, dnsNames: readonly string[]): void {
  if (spiffeId === undefined && dnsNames.length === 0) {
    throw new InjectorError(
      ErrorCode.InvalidName,
      'leaf: expected a spiffeId or at least one DNS name, got neither',
    );
  }
  if (spiffeId !== undefined) {
    if (!SPIFFE_ID.test(spiffeId) || DOT_SEGMENT.test(spiffeId)) {
      throw new InjectorError(
        ErrorCode.InvalidName,
        `leaf: spiffeId ${JSON.stringify(spiffeId)} is not a SPIFFE ID; expected spiffe://<trust-domain>/<path> ` +
          "with lowercase trust domain and path segments of letters, digits, '.', '-' and '_'",
      );
    }
    if (Buffer.byteLength(spiffeId) > MAX_SPIFFE_ID_BYTES) {
      throw new InjectorError(
        ErrorCode.InvalidName,
        `leaf: spiffeId is ${Buffer.byteLength(spiffeId)} bytes; expected at most ${MAX_SPIFFE_ID_BYTES}`,
      );
    }
  }
  dnsNames.forEach((name, index) => {
    if (name.length > 253 || !DNS_NAME.test(name)) {
      throw new InjectorError(
        ErrorCode.InvalidName,
        `leaf: dnsNames[${index}] ${JSON.stringify(name)} is not a DNS name; expected labels of letters, digits ` +
          "and '-' (at most 63 each, 253 in all), optionally starting with '*.'",
      );
    }
  });
}

/** [O, CN] of the leaf subject, each cut to 64 characters; '' omits the attribute. */
function subjectAttributes(
  subject: IssueLeafOptions['subject'],
  spiffeId: string | undefined,
  dnsNames: readonly string[],
): [string, string] {
  if (subject !== undefined) {
    return [boundedAttribute(subject.organization ?? ''), boundedAttribute(subject.commonName ?? '')];
  }
  const workload = spiffeId === undefined ? undefined : parseSpiffeId(spiffeId);
  if (workload !== undefined) {
    return [
      boundedAttribute(workload.trustDomain),
      boundedAttribute(`${workload.serviceAccount}.${workload.namespace}`),
    ];
  }
  const trustDomain = spiffeId === undefined ? undefined : SPIFFE_ID.exec(spiffeId)?.[1];
  return [boundedAttribute(trustDomain ?? ''), boundedAttribute(dnsNames[0] ?? '')];
}

/** Validity, cached for the last (notBefore, notAfter) pair: bursts of issuance share the same second. */
function validity(notBefore: number, notAfter: number): Buffer {
  if (lastValidity?.notBefore !== notBefore || lastValidity.notAfter !== notAfter) {
    lastValidity = {
      notBefore,
      notAfter,
      der: sequence(x509Time(new Date(notBefore * 1000)), x509Time(new Date(notAfter * 1000))),
    };
  }
  return lastValidity.der;
}
