/**
 * check for podCertificate delivery: the delivery facts, and each pod's newest PodCertificateRequest (issued,
 * denied with the signer's reason, pending, none left), its leaf checked against the cluster's trust bundle.
 */
import { describe, expect, it } from 'vitest';
import { checkPod } from '../../src/check/pod.js';
import { checkDelivery } from '../../src/check/pod-certificate.js';
import { encodeClusterFacts } from '../../src/core/delivery.js';
import { decide } from '../../src/core/policy/decide.js';
import type { PodCertificateRequestObject, PodObject } from '../../src/kube/types.js';
import { readSubjectPublicKey, spkiOfCsr } from '../../src/pki/csr.js';
import { buildCrl } from '../../src/pki/crl.js';
import { issueLeafForKey } from '../../src/pki/issue-for-key.js';
import { FACTS_1_34, FACTS_1_37 } from '../core/helpers.js';
import { stubCsr } from '../rotator/signer/requests.js';
import { excluded, NOW, rootCa, settings } from './fixtures.js';

const facts = (f: object) => ({
  metadata: { name: 'mtls-injector-delivery' },
  data: { 'delivery.json': encodeClusterFacts(f as never) },
});

describe('check: delivery', () => {
  it('says what auto gives, from what the rotator published', () => {
    const served = checkDelivery('auto', facts(FACTS_1_37), 'mtls-injector/mtls-injector-delivery');
    expect(served.result).toMatchObject({ ok: true, reason: 'auto_pod_certificate' });
    expect(served.result.message).toMatch(
      /certificates\.k8s\.io\/v1 PodCertificateRequests served, as the rotator mtls-injector-rotator-0 found/,
    );
    const not = checkDelivery('auto', facts(FACTS_1_34), 'x/y');
    expect(not.result).toMatchObject({ ok: true, reason: 'auto_secret' });
    expect(not.result.message).toMatch(/gives Secrets: no PodCertificateRequest API.*Kubernetes v1\.34\.4/);
    expect(checkDelivery('auto', undefined, 'x/y').result).toMatchObject({
      ok: false,
      severity: 'warning',
      reason: 'delivery_facts_missing',
    });
    expect(checkDelivery('podCertificate', facts(FACTS_1_34), 'x/y').result).toMatchObject({
      ok: false,
      severity: 'error',
      reason: 'delivery_unavailable',
    });
  });
});

/** A pod as the webhook injects it in a podCertificate namespace, then bound and (optionally) Running. */
function podCertificatePod(phase = 'Running'): PodObject {
  const decision = decide({
    pod: {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { serviceAccountName: 'web', containers: [{ name: 'app', image: 'app:1' }] },
    },
    namespace: 'shop',
    mode: 'enabled',
    delivery: 'podCertificate',
    operation: 'CREATE',
    excludedNamespaces: excluded,
    settings,
    secretSuffix: 'bcdfg',
  });
  if (decision.kind !== 'inject') throw new Error(decision.message);
  const pod = decision.pod as unknown as PodObject;
  return {
    ...pod,
    metadata: { ...pod.metadata, uid: 'uid-web' },
    spec: { ...pod.spec, nodeName: 'node-1' },
    status: { phase },
  };
}

function request(status: PodCertificateRequestObject['status'], created = NOW): PodCertificateRequestObject {
  return {
    metadata: { namespace: 'shop', name: 'req-1', creationTimestamp: created.toISOString() },
    spec: {
      signerName: 'mtls-injector.io/spiffe',
      podName: 'web',
      podUID: 'uid-web',
      serviceAccountName: 'web',
      nodeName: 'node-1',
      stubPKCS10Request: stubCsr('ECDSAP256').csr,
    },
    ...(status === undefined ? {} : { status }),
  };
}

const input = (pod: PodObject, requests: PodCertificateRequestObject[], clusterBundlePem?: string) => ({
  pod,
  namespace: 'shop',
  namespaceLabels: { 'mtls-injection': 'enabled', 'mtls-injector.io/delivery': 'podCertificate' },
  settings,
  excludedNamespaces: excluded,
  secret: { kind: 'unread' } as const,
  requests: { kind: 'found', requests } as const,
  clusterBundlePem,
  revocations: [],
  now: NOW,
});

describe('check: a pod with podCertificate delivery', () => {
  it('an issued request: its leaf checked, notAfter and refresh time told', () => {
    const ca = rootCa();
    const leaf = issueLeafForKey(ca, {
      spiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
      dnsNames: [],
      publicKey: readSubjectPublicKey(spkiOfCsr(Buffer.from(stubCsr('ECDSAP256').csr, 'base64'))),
      notBefore: new Date(NOW.getTime() - 60_000),
      notAfter: new Date(NOW.getTime() + 86_340_000),
    });
    const report = checkPod(
      input(
        podCertificatePod(),
        [
          request({
            conditions: [{ type: 'Issued', status: 'True', reason: 'Issued', message: 'ok' }],
            certificateChain: leaf.certPem,
            notBefore: leaf.notBefore.toISOString(),
            beginRefreshAt: '2026-11-24T00:00:00Z',
            notAfter: leaf.notAfter.toISOString(),
          }),
        ],
        ca.trustBundlePem,
      ),
    );
    expect(report.delivery).toEqual({
      mode: 'podCertificate',
      why: 'namespace label mtls-injector.io/delivery=podCertificate',
    });
    expect(report.podCertificate).toMatchObject({
      request: 'shop/req-1',
      state: 'Issued',
      beginRefreshAt: '2026-11-24T00:00:00Z',
      requests: 1,
    });
    expect(report.checks.map((c) => [c.name, c.ok, c.reason])).toEqual([
      ['injection', true, 'already_injected'],
      ['pod-certificate-request', true, 'request_issued'],
      ['certificate-validity', true, 'certificate_valid'],
      ['certificate-chain', true, 'certificate_chained'],
      ['certificate-identity', true, 'identity_matches'],
      ['certificate-expiry', true, 'expires_in'],
      ['certificate-revocation', true, 'not_revoked'],
      ['crl', true, 'no_crl_needed'],
    ]);
    expect(report.certificate?.spiffeId).toBe('spiffe://cluster.local/ns/shop/sa/web');
    expect(report.certificate?.revoked).toBeNull();
  });

  it('a denied request: an error with the signer reason, and what to do', () => {
    const report = checkPod(
      input(podCertificatePod('Pending'), [
        request({
          conditions: [
            {
              type: 'Denied',
              status: 'True',
              reason: 'UnsupportedKeyType',
              message: 'key type ECDSAP384 is not signed',
            },
          ],
        }),
      ]),
    );
    const failed = report.checks.find((c) => c.name === 'pod-certificate-request');
    expect(failed).toMatchObject({ ok: false, severity: 'error', reason: 'request_denied' });
    expect(failed?.message).toMatch(
      /denied \(UnsupportedKeyType\): key type ECDSAP384 is not signed; the pod does not start/,
    );
    expect(failed?.hint).toMatch(/keyType ECDSAP256/);
  });

  it('a request nobody answered for over a minute is a warning', () => {
    const old = request(undefined, new Date(NOW.getTime() - 5 * 60_000));
    const report = checkPod(input(podCertificatePod('Pending'), [old]));
    expect(report.checks.find((c) => c.name === 'pod-certificate-request')).toMatchObject({
      ok: false,
      severity: 'warning',
      reason: 'request_pending',
    });
  });

  it("a pod's own podCertificate volume of our signer (opted out, not injected) is judged by its requests", () => {
    const own: PodObject = {
      metadata: {
        name: 'web',
        namespace: 'shop',
        uid: 'uid-web',
        annotations: { 'mtls-injector.io/inject': 'false' },
      },
      spec: {
        serviceAccountName: 'web',
        nodeName: 'node-1',
        containers: [{ name: 'app', image: 'app:1' }],
        volumes: [
          {
            name: 'own',
            projected: {
              sources: [{ podCertificate: { signerName: 'mtls-injector.io/spiffe', keyType: 'ECDSAP384' } }],
            },
          },
        ],
      },
      status: { phase: 'Pending' },
    };
    const denied = request({
      conditions: [
        { type: 'Denied', status: 'True', reason: 'UnsupportedKeyType', message: 'key type ECDSAP384' },
      ],
    });
    const report = checkPod(input(own, [denied]));
    expect(report.injected).toBe(false);
    expect(report.checks.map((c) => [c.name, c.reason])).toEqual([
      ['injection', 'opted_out'],
      ['pod-certificate-request', 'request_denied'],
      ['crl', 'no_crl_needed'],
    ]);
    // Another signer's projection is none of ours: no request is looked at.
    const other = structuredClone(own);
    (
      other.spec?.['volumes'] as { projected: { sources: { podCertificate: { signerName: string } }[] } }[]
    )[0]!.projected.sources[0]!.podCertificate.signerName = 'example.com/other';
    expect(checkPod(input(other, [denied])).checks.map((c) => c.name)).toEqual(['injection']);
  });

  it('no request left: fine for a started pod (deleted after 15 minutes), a warning before it starts', () => {
    const request = (phase: string) =>
      checkPod(input(podCertificatePod(phase), [])).checks.find((c) => c.name === 'pod-certificate-request');
    expect(request('Running')).toMatchObject({
      ok: true,
      reason: 'request_not_visible',
    });
    expect(request('Pending')).toMatchObject({
      ok: false,
      reason: 'request_missing',
    });
  });
});

describe('check: revocation of a pod with pod certificates', () => {
  const issuedLeaf = (ca: ReturnType<typeof rootCa>) =>
    issueLeafForKey(ca, {
      spiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
      dnsNames: [],
      publicKey: readSubjectPublicKey(spkiOfCsr(Buffer.from(stubCsr('ECDSAP256').csr, 'base64'))),
      notBefore: new Date(NOW.getTime() - 60_000),
      notAfter: new Date(NOW.getTime() + 86_340_000),
    });
  const issued = (leaf: ReturnType<typeof issuedLeaf>) =>
    request({
      conditions: [{ type: 'Issued', status: 'True', reason: 'Issued', message: 'ok' }],
      certificateChain: leaf.certPem,
      notBefore: leaf.notBefore.toISOString(),
      beginRefreshAt: '2026-11-24T00:00:00Z',
      notAfter: leaf.notAfter.toISOString(),
    });
  const crlOf = (ca: ReturnType<typeof rootCa>, serials: string[]) =>
    buildCrl(ca, {
      crlNumber: 7n,
      thisUpdate: new Date(NOW.getTime() - 3_600_000),
      nextUpdate: new Date(NOW.getTime() + 47 * 3_600_000),
      entries: serials.map((serialHex) => ({
        serialHex,
        revokedAt: new Date(NOW.getTime() - 600_000),
        reason: 'keyCompromise' as const,
        notAfter: new Date(NOW.getTime() + 86_340_000),
      })),
    }).pem;
  const entry = (serial: string, issuer: string) => ({
    serial,
    issuer,
    reason: 'keyCompromise' as const,
    revokedAt: new Date(NOW.getTime() - 600_000).toISOString(),
    notAfter: new Date(NOW.getTime() + 86_340_000).toISOString(),
    identity: 'spiffe://cluster.local/ns/shop/sa/web',
    pod: 'shop/web',
    by: 'alice',
    target: 'pod shop/web',
  });

  it('a revoked pod: an error saying the rotator evicts it, and its leaf on the CRL it mounts', () => {
    const ca = rootCa();
    const leaf = issuedLeaf(ca);
    const report = checkPod({
      ...input(podCertificatePod(), [issued(leaf)], ca.trustBundlePem),
      revocations: [entry(leaf.serialHex, ca.subjectKeyIdHex)],
      revokedPods: [
        {
          pod: 'shop/web',
          uid: 'uid-web',
          identity: 'spiffe://cluster.local/ns/shop/sa/web',
          reason: 'keyCompromise',
          revokedAt: new Date(NOW.getTime() - 600_000).toISOString(),
          until: new Date(NOW.getTime() + 86_000_000).toISOString(),
          by: 'alice',
          target: 'pod shop/web',
        },
      ],
      crl: { kind: 'found', pem: crlOf(ca, [leaf.serialHex]) },
    });
    const byName = (n: string) => report.checks.filter((c) => c.name === n).map((c) => [c.ok, c.reason]);
    expect(byName('certificate-revocation')).toEqual([
      [false, 'pod_revoked'],
      [false, 'certificate_revoked'],
    ]);
    expect(byName('crl')).toEqual([[true, 'crl_current']]);
    expect(report.checks.find((c) => c.reason === 'pod_revoked')?.message).toMatch(
      /by alice: the rotator evicts it/,
    );
    expect(report.podCertificate?.revoked).toMatchObject({ by: 'alice', source: 'record' });
    expect(report.podCertificate?.crl).toMatchObject({
      crlNumber: '7',
      entries: 1,
      nextUpdate: new Date(NOW.getTime() + 47 * 3_600_000).toISOString(),
    });
    expect(report.certificate?.revoked?.reason).toBe('keyCompromise');
  });

  it('no request left: the mounted ca.crl judged alone, current or lacking what the record revokes', () => {
    const ca = rootCa();
    const current = checkPod({
      ...input(podCertificatePod(), [], ca.trustBundlePem),
      revocations: [entry('0abc', ca.subjectKeyIdHex)],
      crl: { kind: 'found', pem: crlOf(ca, ['0abc']) },
    });
    const crl = current.checks.find((c) => c.name === 'crl');
    expect(crl).toMatchObject({ ok: true, reason: 'crl_current' });
    expect(crl?.message).toMatch(
      /ca\.crl of ConfigMap shop\/mtls-injector-trust-bundle: 1 CRL\(s\), 1 revoked, next update/,
    );
    expect(current.podCertificate?.crl?.nextUpdate).toBe(
      new Date(NOW.getTime() + 47 * 3_600_000).toISOString(),
    );

    const stale = checkPod({
      ...input(podCertificatePod(), [], ca.trustBundlePem),
      revocations: [entry('0abc', ca.subjectKeyIdHex), entry('0def', ca.subjectKeyIdHex)],
      crl: { kind: 'found', pem: crlOf(ca, ['0abc']) },
    });
    expect(stale.checks.find((c) => c.name === 'crl')).toMatchObject({ ok: false, reason: 'crl_stale' });

    const missing = checkPod({
      ...input(podCertificatePod(), [], ca.trustBundlePem),
      revocations: [entry('0abc', ca.subjectKeyIdHex)],
      crl: { kind: 'found', pem: undefined },
    });
    expect(missing.checks.find((c) => c.name === 'crl')).toMatchObject({ ok: false, reason: 'crl_missing' });
  });
});
