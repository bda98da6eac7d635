import { CA_FILE, CERT_FILE, CRL_FILE, KEY_FILE, MANAGED_LABEL } from '../core/names.js';
import type { PodObject, SecretObject } from '../kube/types.js';
import type { RevocationEntry } from '../model/revocations.js';
import { secretFile } from '../model/secret-data.js';
import { controllingPod, secretOwnership } from '../model/workload-secret.js';
import { bundleFingerprints } from '../pki/bundle.js';
import { type CertificateFacts, certificateChecks, ROTATOR_HINT } from './certificate.js';
import { type CheckResult, fail, pass } from './result.js';
import { checkLeafRevocation } from './revocation.js';

export type { CertificateFacts } from './certificate.js';

/** The pod's Secret as the runner read it. */
export type SecretLookup =
  | { readonly kind: 'found'; readonly secret: SecretObject }
  | { readonly kind: 'missing' }
  /** The read failed; `result` says why (forbidden, API error). */
  | { readonly kind: 'error'; readonly result: CheckResult }
  /** Not read (the pod is not injected). */
  | { readonly kind: 'unread' };

/**
 * The Secret of an injected pod: present (named by its `mtls-certs` volume, as the rotator reads it), ours
 * and owned by this pod (or, owned by another pod that still exists, a collision); its certificate valid,
 * chained to the Secret's ca.crt, carrying the pod's SPIFFE ID (namespace + service account), matching
 * tls.key; the time to expiry; whether it is revoked and what the Secret's ca.crl says
 * (docs/revocation.md); and whether ca.crt holds every root of the cluster's trust bundle. Pure.
 */
export function checkPodSecret(input: {
  readonly pod: PodObject;
  readonly secretName: string | null;
  /** Whether a pod with this uid exists in the pod's namespace (the owner of a Secret another pod mounts). */
  readonly podExists: (uid: string) => boolean;
  readonly secret: SecretLookup;
  readonly expectedSpiffeId: string | null;
  readonly clusterBundlePem: string | undefined;
  /** The revocation record's entries; undefined when it could not be read. */
  readonly revocations: readonly RevocationEntry[] | undefined;
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
  const revocation = checkLeafRevocation({
    certChainPem,
    trustBundlePem: bundlePem,
    crlPem: secretFile(secret, CRL_FILE),
    entries: input.revocations,
    where,
    now,
  });
  const certificate: CertificateFacts | null =
    leafChecks.certificate === null
      ? null
      : { ...leafChecks.certificate, revoked: revocation.revoked, crl: revocation.crl };
  checks.push(...revocation.checks);
  if (input.clusterBundlePem !== undefined)
    checks.push(bundleCheck(bundlePem, input.clusterBundlePem, where));
  return { checks, certificate };
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
