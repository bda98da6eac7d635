import { CA_FILE, CERT_FILE, KEY_FILE, MANAGED_LABEL } from '../core/names.js';
import type { PodObject, SecretObject } from '../kube/types.js';
import { isLowOnLife, LOW_LIFE_FRACTION } from '../model/lifetime.js';
import { secretFile } from '../model/secret-data.js';
import { controllingPod, secretOwnership } from '../model/workload-secret.js';
import { bundleFingerprints } from '../pki/bundle.js';
import { type VerifyProblem, type VerifyProblemCode, verifyLeaf } from '../pki/verify.js';
import { type CheckResult, fail, humanDuration, pass } from './result.js';

/** The pod's Secret as the runner read it. */
export type SecretLookup =
  | { readonly kind: 'found'; readonly secret: SecretObject }
  | { readonly kind: 'missing' }
  /** The read failed; `result` says why (forbidden, API error). */
  | { readonly kind: 'error'; readonly result: CheckResult }
  /** Not read (the pod is not injected). */
  | { readonly kind: 'unread' };

/** What the pod's certificate says (`certificate` in `check -o json`). */
export interface CertificateFacts {
  readonly spiffeId: string | null;
  readonly dnsNames: readonly string[];
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Negative once expired. */
  readonly expiresInSeconds: number;
}

const ROTATOR_HINT =
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
 * The Secret of an injected pod: present (named by its `mtls-certs` volume, as the rotator reads it), ours
 * and owned by this pod (or, owned by another pod that still exists, a collision); its certificate valid,
 * chained to the Secret's ca.crt, carrying the pod's SPIFFE ID (namespace + service account), matching
 * tls.key; the time to expiry; and whether ca.crt holds every root of the cluster's trust bundle. Pure.
 */
export function checkPodSecret(input: {
  readonly pod: PodObject;
  readonly secretName: string | null;
  /** Whether a pod with this uid exists in the pod's namespace (the owner of a Secret another pod mounts). */
  readonly podExists: (uid: string) => boolean;
  readonly secret: SecretLookup;
  readonly expectedSpiffeId: string | null;
  readonly clusterBundlePem: string | undefined;
  readonly trustDomain: string;
  readonly now: Date;
}): { checks: CheckResult[]; certificate: CertificateFacts | null } {
  const { pod, secretName, now } = input;
  const podName = pod.metadata.name ?? '';
  const ns = pod.metadata.namespace ?? '';
  if (secretName === null || secretName === '') {
    return {
      checks: [
        fail(
          'secret',
          'error',
          'secret_volume_missing',
          'the pod is marked injected but has no mtls-certs Secret volume, so it has no certificate Secret',
          'restart the workload so the webhook injects the pod again',
        ),
      ],
      certificate: null,
    };
  }
  const where = `${ns}/${secretName}`;
  switch (input.secret.kind) {
    case 'unread':
      return { checks: [], certificate: null };
    case 'error':
      return { checks: [input.secret.result], certificate: null };
    case 'missing':
      return {
        checks: [
          fail(
            'secret',
            'error',
            'secret_missing',
            `Secret ${where} not found; the pod cannot start (its certificate volume cannot be mounted)`,
            ROTATOR_HINT,
          ),
        ],
        certificate: null,
      };
    case 'found':
      break;
  }
  const secret = input.secret.secret;
  const checks: CheckResult[] = [];
  const ownership = secretOwnership(secret, { name: podName, uid: pod.metadata.uid });
  if (ownership === 'not_managed') {
    checks.push(
      fail(
        'secret',
        'error',
        'secret_not_managed',
        `Secret ${where} exists but is not one of ours (no ${MANAGED_LABEL}=true label); the rotator never overwrites it`,
        `delete or rename that Secret; the rotator then issues the pod's own`,
      ),
    );
  } else if (ownership === 'other_pod' && input.podExists(controllingPod(secret)?.uid ?? '')) {
    const owner = controllingPod(secret);
    checks.push(
      fail(
        'secret',
        'error',
        'secret_collision',
        `Secret ${where} belongs to pod ${owner?.name ?? '?'} (uid ${owner?.uid ?? '?'}), which still exists: two pods mount one Secret; it stays with that pod and this pod has no identity of its own`,
        'delete this pod: its replacement gets a Secret of its own (the rotator also reported Warning Events SecretCollision on both pods)',
      ),
    );
  } else if (ownership !== 'owned') {
    checks.push(
      fail(
        'secret',
        'error',
        'secret_not_owned',
        `Secret ${where} is not owned by this pod (uid ${pod.metadata.uid ?? '?'}); it would outlive the pod or belong to another`,
        ROTATOR_HINT,
      ),
    );
  } else {
    checks.push(pass('secret', 'secret_ok', `Secret ${where} present, managed, owned by the pod`));
  }

  const certChainPem = secretFile(secret, CERT_FILE) ?? '';
  const keyPem = secretFile(secret, KEY_FILE);
  const bundlePem = secretFile(secret, CA_FILE) ?? '';
  const leafChecks = certificateChecks({
    certChainPem,
    keyPem: keyPem ?? '',
    bundlePem,
    bundleName: "the Secret's ca.crt",
    expectedSpiffeId: input.expectedSpiffeId,
    trustDomain: input.trustDomain,
    now,
  });
  checks.push(...leafChecks.checks);
  const certificate = leafChecks.certificate;
  if (input.clusterBundlePem !== undefined)
    checks.push(bundleCheck(bundlePem, input.clusterBundlePem, where));
  return { checks, certificate };
}

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

function bundleCheck(secretBundlePem: string, clusterBundlePem: string, where: string): CheckResult {
  let missing = 0;
  try {
    const have = new Set(secretBundlePem.trim() === '' ? [] : bundleFingerprints(secretBundlePem));
    for (const print of bundleFingerprints(clusterBundlePem)) if (!have.has(print)) missing += 1;
  } catch {
    return fail(
      'trust-bundle',
      'warning',
      'bundle_unreadable',
      `ca.crt of Secret ${where} cannot be parsed`,
      ROTATOR_HINT,
    );
  }
  if (missing > 0) {
    return fail(
      'trust-bundle',
      'warning',
      'bundle_stale',
      `ca.crt of Secret ${where} lacks ${missing} root(s) of the cluster's trust bundle; peers with certificates from that CA will be refused`,
      ROTATOR_HINT,
    );
  }
  return pass(
    'trust-bundle',
    'bundle_current',
    `ca.crt of Secret ${where} holds every root of the cluster's trust bundle`,
  );
}
