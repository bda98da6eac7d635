/**
 * `revoke` on pods with pod certificates (podCertificate delivery): no Secret holds their certificate, so the
 * pod itself is revoked (a pod entry: the rotator evicts it and denies its UID) and the serials still findable
 * in Issued PodCertificateRequests go on the record.
 */
import { describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import { certificateVolume } from '../../src/core/mutate/volume.js';
import { REVOCATIONS_CONFIGMAP } from '../../src/core/names.js';
import type { PodCertificateRequestObject, PodObject } from '../../src/kube/types.js';
import { readRevocationRecord } from '../../src/model/revocations.js';
import { issueWorkloadIdentity } from '../../src/pki/issue.js';
import { renderRevoke } from '../../src/revoke/render.js';
import { runRevoke } from '../../src/revoke/run.js';
import { FakePodCertificateRequests } from '../fakes/certificates.js';
import { storedPod } from '../fakes/workloads.js';
import { INSTALL, NOW, revokeApis, revokeOptions } from './apis.js';

const SIGNER = 'mtls-injector.io/spiffe';

function world() {
  const { ca, secrets, inspect, configMaps } = revokeApis();
  const requests = new FakePodCertificateRequests();
  const events: { target: { name: string }; reason: string; message: string }[] = [];
  let counter = 0;
  /** An injected pod with a podCertificate volume, and an Issued request whose leaf was issued at `issuedAt`. */
  const pod = (name: string, issuedAt: Date | undefined, sa = 'web'): { pod: PodObject; serial?: string } => {
    const p = storedPod(name, { namespace: 'shop', serviceAccount: sa, injected: true });
    const stored: PodObject = {
      ...p,
      spec: {
        ...p.spec,
        volumes: [
          certificateVolume(
            {
              kind: 'podCertificate',
              signerName: SIGNER,
              keyType: 'ECDSAP256',
              maxExpirationSeconds: 86_400,
              trustBundle: { kind: 'clusterTrustBundle', signerName: SIGNER },
              crlConfigMap: 'mtls-injector-trust-bundle',
            },
            false,
          ),
        ],
      },
    };
    inspect.pods.push(stored);
    if (issuedAt === undefined) return { pod: stored };
    const leaf = issueWorkloadIdentity(
      ca,
      { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: sa },
      { keyAlgorithm: 'ecdsa-p256', lifetimeSeconds: 24 * 3600, backdateSeconds: 60, now: issuedAt },
    );
    const pcr: PodCertificateRequestObject = {
      metadata: { namespace: 'shop', name: `req-${++counter}` },
      spec: {
        signerName: SIGNER,
        podName: name,
        podUID: stored.metadata.uid ?? '',
        serviceAccountName: sa,
        serviceAccountUID: 'sa-uid',
        nodeName: 'node-1',
        nodeUID: 'node-uid',
        maxExpirationSeconds: 86_400,
      },
      status: {
        conditions: [
          { type: 'Issued', status: 'True', reason: 'Issued', message: '', lastTransitionTime: '' },
        ],
        certificateChain: leaf.certPem,
      },
    };
    requests.store.put(pcr);
    return { pod: stored, serial: leaf.serialHex };
  };
  const deps = (withRequests = true) => ({
    inspect,
    secrets,
    configMaps,
    ...(withRequests ? { requests } : {}),
    events: (target: { name: string }, _type: string, reason: string, message: string) => {
      events.push({ target, reason, message });
      return Promise.resolve();
    },
    whoami: () => Promise.resolve('alice'),
    now: NOW,
  });
  return { ca, inspect, configMaps, requests, events, pod, deps };
}

const record = (w: ReturnType<typeof world>) =>
  readRevocationRecord(w.configMaps.objects.get(`${INSTALL}/${REVOCATIONS_CONFIGMAP}`));

describe('revoke --pod on a pod with pod certificates', () => {
  it('records the pod (evicted, its UID denied until maxExpiration) and the serial its request still shows', async () => {
    const w = world();
    const { serial } = w.pod('web-1', new Date(NOW.getTime() - 600_000));
    const outcome = await runRevoke(
      w.deps(),
      revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-1' }),
    );
    const r = record(w);
    expect(r.pods).toEqual([
      {
        pod: 'shop/web-1',
        uid: 'uid-pod-web-1',
        identity: 'spiffe://cluster.local/ns/shop/sa/web',
        reason: 'keyCompromise',
        revokedAt: NOW.toISOString(),
        until: new Date(NOW.getTime() + 86_400_000).toISOString(),
        by: 'alice',
        target: 'pod shop/web-1',
      },
    ]);
    expect(r.entries.map((e) => [e.serial, e.pod, e.issuer])).toEqual([
      [serial, 'shop/web-1', w.ca.subjectKeyIdHex],
    ]);
    expect(outcome.revokedPods).toHaveLength(1);
    expect(w.events.map((e) => `${e.target.name} ${e.reason}`)).toEqual([
      'web-1 CertificateRevoked',
      'web-1 CertificateRevoked',
      `${REVOCATIONS_CONFIGMAP} CertificateRevoked`,
    ]);
    expect(w.events[1]?.message).toMatch(/evicts it and denies its new certificate requests/);
    expect(renderRevoke(outcome, INSTALL)).toMatch(
      /pod shop\/web-1 \(UID uid-pod-web-1\): the rotator evicts it .* denies .* until 2026-12-02T12:00:00.000Z/,
    );
  });

  it('still revokes the pod when its request is gone (older than 15 minutes), and --dry-run says what would happen', async () => {
    const w = world();
    w.pod('web-1', undefined);
    const dry = await runRevoke(
      w.deps(),
      revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-1' }, { dryRun: true }),
    );
    expect(dry.revoked).toEqual([]);
    expect(dry.revokedPods.map((p) => p.pod)).toEqual(['shop/web-1']);
    const text = renderRevoke(dry, INSTALL);
    expect(text).toMatch(/would revoke the pod certificates of 1 pod/);
    expect(text).toMatch(/the rotator adds the serials it issued to this pod/);
    expect(text).toMatch(/dry run: nothing written/);
    expect(w.configMaps.calls.filter((c) => !c.startsWith('get'))).toEqual([]);

    await runRevoke(w.deps(false), revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-1' }));
    expect(record(w).pods.map((p) => p.uid)).toEqual(['uid-pod-web-1']);
    // Again: already revoked, nothing new written.
    const writes = w.configMaps.writes();
    const again = await runRevoke(w.deps(), revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-1' }));
    expect(again.revokedPods).toEqual([]);
    expect(w.configMaps.writes()).toBe(writes);
  });
});

describe('revoke --service-account and --serial with pod certificates', () => {
  it('--service-account takes every pod of the identity with pod certificates, and every live serial', async () => {
    const w = world();
    const a = w.pod('web-1', new Date(NOW.getTime() - 600_000));
    const b = w.pod('web-2', new Date(NOW.getTime() - 300_000));
    w.pod('other', new Date(NOW.getTime() - 300_000), 'db');
    await runRevoke(w.deps(), revokeOptions({ kind: 'service-account', namespace: 'shop', name: 'web' }));
    const r = record(w);
    expect(r.pods.map((p) => p.pod).sort()).toEqual(['shop/web-1', 'shop/web-2']);
    expect(r.entries.map((e) => e.serial).sort()).toEqual([a.serial, b.serial].sort());
  });

  it('--serial finds a pod certificate in its request and takes its pod out too', async () => {
    const w = world();
    const { serial } = w.pod('web-1', new Date(NOW.getTime() - 600_000));
    await runRevoke(w.deps(), revokeOptions({ kind: 'serial', serial: serial ?? '', namespace: undefined }));
    const r = record(w);
    expect(r.entries.map((e) => [e.serial, e.pod])).toEqual([[serial, 'shop/web-1']]);
    expect(r.pods.map((p) => p.uid)).toEqual(['uid-pod-web-1']);
  });

  it('--serial of a pod certificate whose request is gone is unknown without --force', async () => {
    const w = world();
    w.pod('web-1', undefined);
    await expect(
      runRevoke(w.deps(), revokeOptions({ kind: 'serial', serial: '0a1b2c', namespace: undefined })),
    ).rejects.toSatisfy(
      (err: unknown) =>
        isInjectorError(err) &&
        err.code === 'MTLS_ERR_REVOKE_UNKNOWN_SERIAL' &&
        /nor any PodCertificateRequest/.test(err.message),
    );
  });
});
