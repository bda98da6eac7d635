/**
 * Revocation vocabulary shared by the CLI, the revocation record, the CRL encoder and mtls-init: RFC 5280
 * reason codes and certificate serial numbers in one canonical spelling. Pure.
 */

/**
 * The CRLReason values (RFC 5280 §5.3.1) a workload certificate can be revoked with. `cACompromise`,
 * `aACompromise`, `certificateHold` and `removeFromCRL` are left out on purpose: a compromised CA is replaced
 * by a CA rotation, holds would make revocation reversible, and removeFromCRL belongs to delta CRLs.
 */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;

/** A reason a workload certificate was revoked, by its RFC 5280 name. */
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/** The reason names in the order `--help` lists them. */
export const REVOCATION_REASON_NAMES = Object.keys(REVOCATION_REASONS) as readonly RevocationReason[];

/** Every CRLReason of RFC 5280 by name, including the ones this product never writes, for reading CRLs. */
const ALL_REASON_NAMES: Readonly<Record<number, string>> = {
  0: 'unspecified',
  1: 'keyCompromise',
  2: 'cACompromise',
  3: 'affiliationChanged',
  4: 'superseded',
  5: 'cessationOfOperation',
  6: 'certificateHold',
  8: 'removeFromCRL',
  9: 'privilegeWithdrawn',
  10: 'aACompromise',
};

/** Whether `name` is a reason this product revokes with. */
export function isRevocationReason(name: string): name is RevocationReason {
  return Object.hasOwn(REVOCATION_REASONS, name);
}

/** Why `name` is not a usable reason (with what to use instead), or undefined when it is one. */
export function revocationReasonProblem(name: string): string | undefined {
  if (isRevocationReason(name)) return undefined;
  const allowed = REVOCATION_REASON_NAMES.join(', ');
  const why: Record<string, string> = {
    cACompromise: 'a compromised CA is replaced, not revoked: run `mtls-injector ca rotate prepare`',
    aACompromise: 'it applies to attribute authorities, which this product does not have',
    certificateHold:
      'revocations here are permanent (a hold could be lifted); use keyCompromise or superseded',
    removeFromCRL: 'it belongs to delta CRLs, which this product does not publish',
  };
  return `reason ${JSON.stringify(name)} is not accepted${why[name] === undefined ? '' : ` (${why[name]})`}; expected one of ${allowed}`;
}

/** The RFC 5280 name of a CRLReason code, e.g. `keyCompromise` for 1; `reason(7)` for unassigned values. */
export function reasonName(code: number): string {
  return ALL_REASON_NAMES[code] ?? `reason(${code})`;
}

/** RFC 5280 §4.1.2.2: a serial number is a positive integer of at most 20 octets. */
const MAX_SERIAL_OCTETS = 20;

/**
 * The canonical spelling of a serial number: lowercase hex of the positive integer, without leading zero
 * octets, an even number of digits. `openssl x509 -serial` (`serial=7A3F…`), OpenSSL's `7a:3f:…` text form,
 * node's X509Certificate.serialNumber and a `0x` prefix all map to it.
 */
export function canonicalSerial(hex: string): string {
  let digits = hex.replace(/^0x/i, '').replace(/:/g, '').toLowerCase().replace(/^0+/, '');
  if (digits.length % 2 === 1) digits = `0${digits}`;
  return digits;
}

/**
 * Why `text` is not a usable serial number, or undefined when it is. Accepts hex digits with an optional
 * `0x` prefix and optional `:` between octets (as `openssl x509 -text` prints them).
 */
export function serialProblem(text: string): string | undefined {
  const trimmed = text.trim();
  const body = trimmed.replace(/^0x/i, '');
  if (body === '' || !/^[0-9a-fA-F]+(?::[0-9a-fA-F]+)*$/.test(body)) {
    return `serial ${JSON.stringify(text)} is not a hexadecimal number; expected hex digits such as 7a3f09c1… (as \`openssl x509 -noout -serial\` prints), optionally with 0x or colons`;
  }
  const canonical = canonicalSerial(trimmed);
  if (canonical === '') return `serial ${JSON.stringify(text)} is zero; expected a positive number`;
  const octets = canonical.length / 2 + ((Number.parseInt(canonical.slice(0, 2), 16) & 0x80) === 0 ? 0 : 1);
  if (octets > MAX_SERIAL_OCTETS) {
    return `serial ${JSON.stringify(text)} is ${octets} octets long; RFC 5280 allows at most ${MAX_SERIAL_OCTETS}`;
  }
  return undefined;
}
