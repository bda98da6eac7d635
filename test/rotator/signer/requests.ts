/**
 * PodCertificateRequests as the kubelet files them: a key pair made by openssl (never by the code under test)
 * and an empty PKCS#10 request for it, base64 in the spec. Keys are made once per type and reused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodCertificateRequestObject, PodObject } from '../../../src/kube/types.js';

const GENPKEY: Record<string, readonly string[]> = {
  ECDSAP256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  ECDSAP384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ED25519: ['-algorithm', 'ED25519'],
  RSA4096: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:4096'],
};

const made = new Map<string, { csr: string; keyPem: string }>();

/** A stub CSR (base64 DER) and its private key (PKCS#8 PEM) of `keyType`, made by openssl. */
export function stubCsr(keyType: keyof typeof GENPKEY): { csr: string; keyPem: string } {
  const cached = made.get(keyType);
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'mtls-stub-csr-'));
  try {
    execFileSync('openssl', ['genpkey', ...(GENPKEY[keyType] ?? []), '-out', join(dir, 'k')], {
      stdio: 'pipe',
    });
    execFileSync(
      'openssl',
      ['req', '-new', '-key', join(dir, 'k'), '-subj', '/', '-outform', 'DER', '-out', join(dir, 'c')],
      {
        stdio: 'pipe',
      },
    );
    const out = {
      csr: readFileSync(join(dir, 'c')).toString('base64'),
      keyPem: readFileSync(join(dir, 'k'), 'utf8'),
    };
    made.set(keyType, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const SIGNER = 'mtls-injector.io/spiffe';

let counter = 0;

/** The request the kubelet on `node` files for `pod` (its name, UID, service account), as the API stores it. */
export function kubeletRequest(
  pod: PodObject,
  options: {
    keyType?: keyof typeof GENPKEY;
    nodeName?: string;
    signerName?: string;
    maxExpirationSeconds?: number;
    userAnnotations?: Record<string, string>;
    podUID?: string;
    name?: string;
  } = {},
): PodCertificateRequestObject {
  const namespace = pod.metadata.namespace ?? 'shop';
  const nodeName = options.nodeName ?? (pod.spec?.['nodeName'] as string | undefined) ?? 'node-1';
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'PodCertificateRequest',
    metadata: { namespace, name: options.name ?? `req-${++counter}`, uid: `pcr-uid-${counter}` },
    spec: {
      signerName: options.signerName ?? SIGNER,
      podName: pod.metadata.name ?? '',
      podUID: options.podUID ?? pod.metadata.uid ?? '',
      serviceAccountName: pod.spec?.serviceAccountName ?? 'default',
      serviceAccountUID: 'sa-uid',
      nodeName,
      nodeUID: 'node-uid',
      maxExpirationSeconds: options.maxExpirationSeconds ?? 86_400,
      stubPKCS10Request: stubCsr(options.keyType ?? 'ECDSAP256').csr,
      ...(options.userAnnotations === undefined
        ? {}
        : { unverifiedUserAnnotations: options.userAnnotations }),
    },
  };
}

/** A pod bound to a node, as the API stores it after scheduling (managed label optional). */
export function boundPod(
  name: string,
  options: {
    namespace?: string;
    uid?: string;
    serviceAccount?: string;
    nodeName?: string;
    labels?: Record<string, string>;
  } = {},
): PodObject {
  return {
    metadata: {
      name,
      namespace: options.namespace ?? 'shop',
      uid: options.uid ?? `uid-${name}`,
      labels: { app: name, ...(options.labels ?? {}) },
    },
    spec: { serviceAccountName: options.serviceAccount ?? 'web', nodeName: options.nodeName ?? 'node-1' },
    status: { phase: 'Pending' },
  };
}
