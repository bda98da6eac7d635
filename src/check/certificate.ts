/**
 * The checks of a leaf certificate, whatever delivered it (a Secret, or a podCertificate volume): validity,
 * chain, identity, key match and time to expiry, and the facts `check -o json` shows.
 */
import { isLowOnLife, LOW_LIFE_FRACTION } from '../model/lifetime.js';
import { type VerifyProblem, type VerifyProblemCode, verifyLeaf } from '../pki/verify.js';
import { type CheckResult, fail, humanDuration, pass } from './result.js';
import type { CrlView, RevokedFacts } from './revocation.js';

/** What the pod's certificate says (`certificate` in `check -o json`). */
export interface CertificateFacts {
  readonly spiffeId: string | null;
  readonly dnsNames: readonly string[];
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Negative once expired. */
  readonly expiresInSeconds: number;
  /** Set when the revocation record or the Secret's ca.crl revokes it. */
  readonly revoked: RevokedFacts | null;
  /** The CRL of its issuer in the Secret's ca.crl, when there is one. */
  readonly crl: CrlView | null;
}

/** Where a certificate that is due or broken is fixed. */
export const ROTATOR_HINT =
  'the rotator issues and renews it within seconds: is the rotator running and leading? (kubectl -n <install namespace> logs deploy/mtls-injector-rotator)';

/** Which verifyLeaf problems belong to which check. */
const GROUPS: readonly {
  readonly name: string;
  readonly ok: string;
  readonly codes: readonly VerifyProblemCode[];
}[] = [
  {
    name: 'certificate-validity',
    ok: 'certificate_valid',
    codes: ['bad_pem', 'no_certificate', 'expired', 'not_yet_valid'],
  },
  { name: 'certificate-chain', ok: 'certificate_chained', codes: ['untrusted', 'not_a_leaf'] },
  {
    name: 'certificate-identity',
    ok: 'identity_matches',
    codes: ['no_spiffe_id', 'multiple_uri_sans', 'wrong_identity', 'bad_usage'],
  },
  { name: 'certificate-key', ok: 'key_matches', codes: ['bad_key', 'key_mismatch'] },
];

/**
 * The checks of a leaf (validity, chain to `bundlePem`, identity, key match when `keyPem` is given, time to
 * expiry) and what it says. Shared by Secret and podCertificate delivery. Pure.
 */
export function certificateChecks(input: {
  readonly certChainPem: string;
  /** The private key to match; undefined when it is not readable (podCertificate: only the kubelet has it). */
  readonly keyPem: string | undefined;
  readonly bundlePem: string;
  /** How the bundle is named in messages (e.g. "the Secret's ca.crt"). */
  readonly bundleName: string;
  readonly expectedSpiffeId: string | null;
  readonly trustDomain: string;
  readonly now: Date;
}): { checks: CheckResult[]; certificate: CertificateFacts | null } {
  const { now } = input;
  const checks: CheckResult[] = [];
  const verdict = verifyLeaf({
    certChainPem: input.certChainPem,
    ...(input.keyPem === undefined ? {} : { keyPem: input.keyPem }),
    trustBundlePem: input.bundlePem,
    now,
    expectedSpiffeId: input.expectedSpiffeId ?? undefined,
  });
  for (const group of GROUPS) {
    if (group.name === 'certificate-key' && input.keyPem === undefined) continue;
    const problems = verdict.problems.filter((p) => group.codes.includes(p.code));
    checks.push(
      problems.length === 0
        ? pass(group.name, group.ok, okMessage(group.name, verdict.leaf?.spiffeId, input.bundleName))
        : groupFailure(group.name, problems, input.trustDomain),
    );
  }
  const leaf = verdict.leaf;
  if (leaf === undefined) return { checks, certificate: null };
  const left = leaf.notAfter.getTime() - now.getTime();
  const certificate: CertificateFacts = {
    spiffeId: leaf.spiffeId ?? null,
    dnsNames: leaf.dnsNames,
    serial: leaf.serialHex,
    notBefore: leaf.notBefore.toISOString(),
    notAfter: leaf.notAfter.toISOString(),
    expiresInSeconds: Math.floor(left / 1000),
    // Revocation is judged by the caller (Secret delivery: the record and the Secret's ca.crl).
    revoked: null,
    crl: null,
  };
  if (left > 0) {
    const message = `expires in ${humanDuration(left)} (${leaf.notAfter.toISOString()})`;
    checks.push(
      isLowOnLife(leaf.notBefore, leaf.notAfter, now)
        ? fail(
            'certificate-expiry',
            'warning',
            'renewal_overdue',
            `${message}: less than ${LOW_LIFE_FRACTION * 100}% of its lifetime left; renewal happens at about half`,
            ROTATOR_HINT,
          )
        : pass('certificate-expiry', 'expires_in', message),
    );
  }
  return { checks, certificate };
}

function okMessage(name: string, spiffeId: string | undefined, bundleName: string): string {
  switch (name) {
    case 'certificate-validity':
      return 'certificate within its validity window';
    case 'certificate-chain':
      return `certificate chains to a root in ${bundleName}`;
    case 'certificate-identity':
      return `certificate carries ${spiffeId ?? 'the expected identity'}`;
    default:
      return 'tls.key matches the certificate';
  }
}

function groupFailure(name: string, problems: readonly VerifyProblem[], trustDomain: string): CheckResult {
  const first = problems[0];
  const code = first?.code ?? 'bad_pem';
  let hint: string | null = ROTATOR_HINT;
  if (code === 'wrong_identity') {
    hint = `the rotator reissues a certificate whose identity is wrong; if this cluster uses another trust domain than ${trustDomain}, pass --trust-domain`;
  } else if (code === 'expired') {
    hint = `${ROTATOR_HINT}; the CA may be expired too (see the ca check)`;
  }
  return fail(name, 'error', code, problems.map((p) => p.message).join('; '), hint);
}
