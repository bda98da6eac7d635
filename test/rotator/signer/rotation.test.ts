/**
 * A CA rotation with podCertificate delivery: the ClusterTrustBundle carries old and new roots, requests after
 * the activation are signed by the new CA, and retire waits until no pod may still hold a leaf of the old one:
 * the rotator records the pods at the activation and drops each as the signer re-signs it or it goes away.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PodObject } from '../../../src/kube/types.js';
import { renderRotationStatus } from '../../../src/cli/ca-rotate-status.js';
import { planActivate } from '../../../src/model/ca-rotation.js';
import { rotationStatus } from '../../../src/model/ca-rotation-status.js';
import type { CaMaterial } from '../../../src/model/ca-secret.js';
import {
  pendingPods,
  podCertificatesRetired,
  readPreviousCaPods,
} from '../../../src/model/previous-ca-pods.js';
import { bundleFingerprints, mergeBundles } from '../../../src/pki/bundle.js';
import { caMaterial, makeCa } from '../harness.js';
import { boundPod, kubeletRequest, SIGNER } from './requests.js';
import { signerWorld } from './world.js';

/** A pod with the podCertificate volume the webhook adds. */
function projectedPod(name: string): PodObject {
  const pod = boundPod(name);
  return {
    ...pod,
    spec: {
      ...pod.spec,
      volumes: [
        {
          name: 'mtls-certs',
          projected: { sources: [{ podCertificate: { signerName: SIGNER, keyType: 'ECDSAP256' } }] },
        },
      ],
    },
  };
}

describe('CA rotation with pod certificates', () => {
  it('prepare → activate → retire waits for every pod to be re-signed or gone', async () => {
    const w = signerWorld();
    const [a, b] = [w.addPod(projectedPod('a')), w.addPod(projectedPod('b'))];
    for (const pod of [a, b])
      w.requests.store.put(kubeletRequest(pod, { name: `first-${pod.metadata.name}` }));
    await w.settle();
    const oldCa = w.ca;
    const next = makeCa(w.clock);
    const ctb = () => w.bundles.store.get('/mtls-injector.io:spiffe:trust-bundle')?.spec.trustBundle ?? '';

    // prepare: the new root joins the trust bundle and the ClusterTrustBundle.
    const both = mergeBundles(oldCa.bundlePem, next.certPem);
    w.setCa({ ...oldCa, bundlePem: both, nextCertPem: next.certPem });
    await w.settle();
    expect(bundleFingerprints(ctb())).toEqual(bundleFingerprints(both));
    // activate is allowed only once the ClusterTrustBundle trusts the new root (and after the propagation delay).
    const caSecret = {
      metadata: {
        annotations: { 'mtls-injector.io/bundle-changed-at': new Date(w.clock.now - 600_000).toISOString() },
      },
      data: {
        'next.crt': Buffer.from(next.certPem).toString('base64'),
        'next.key': Buffer.from(next.keyPem).toString('base64'),
      },
    };
    const now = new Date(w.clock.now);
    expect(
      planActivate(caSecret, [], now, 300, [{ what: 'ClusterTrustBundle x', pem: oldCa.bundlePem }]),
    ).toMatchObject({
      ok: false,
      message: expect.stringMatching(/ClusterTrustBundle x does not trust the new root yet/) as unknown,
    });
    // Trusted: the first attempt starts the propagation wait (its refusal records it); 300 s later it runs.
    const started = planActivate(caSecret, [], now, 300, [{ what: 'ClusterTrustBundle x', pem: ctb() }]);
    expect(started).toMatchObject({ ok: false, retryable: true, retryInSeconds: 300 });
    const marked = started.ok ? caSecret : (started.secret ?? caSecret);
    const later = new Date(w.clock.now + 300_000);
    expect(planActivate(marked, [], later, 300, [{ what: 'ClusterTrustBundle x', pem: ctb() }]).ok).toBe(
      true,
    );

    // activate: the rotator issues from the new CA and records the pods that hold leaves of the old one.
    const activated: CaMaterial = {
      ...caMaterial(next, w.clock),
      bundlePem: both,
      previousCertPem: oldCa.active.certPem,
    };
    w.setCa(activated);
    await w.settle();
    const record = () => readPreviousCaPods(w.configMaps.store.get('mtls-injector/mtls-injector-delivery'));
    const previous = bundleFingerprints(oldCa.active.certPem)[0] ?? '';
    expect(record()?.pods).toEqual({ shop: ['uid-a', 'uid-b'] });
    expect(podCertificatesRetired(record(), previous, new Date(w.clock.now))).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /^2 pod\(s\) may still hold a pod certificate of the previous CA/,
      ) as unknown,
    });

    // `ca rotate status` judges retire by the same record: waiting, with the pods counted.
    const activatedSecret = {
      metadata: {},
      data: {
        'tls.crt': Buffer.from(next.certPem).toString('base64'),
        'previous.crt': Buffer.from(oldCa.active.certPem).toString('base64'),
      },
    };
    const status = rotationStatus(activatedSecret, [], new Date(w.clock.now), 300, {
      bundles: [],
      record: { record: record() },
    });
    expect(status.podCertificates?.pods).toBe(2);
    expect(status.steps.find((st) => st.step === 'retire')).toMatchObject({
      state: 'waiting',
      reason: expect.stringMatching(/^2 pod\(s\) may still hold a pod certificate/) as unknown,
    });
    expect(renderRotationStatus(status, 300)).toContain(
      'pods that may still hold a pod certificate of the previous CA: 2',
    );

    // The kubelet refreshes pod a: its new request is signed by the new CA, and a leaves the record.
    w.requests.store.put(kubeletRequest(a, { name: 'refresh-a' }));
    await w.settle();
    const chain = w.requests.status('shop', 'refresh-a')?.certificateChain ?? '';
    expect(new X509Certificate(chain).checkIssued(new X509Certificate(next.certPem))).toBe(true);
    expect(record()?.pods).toEqual({ shop: ['uid-b'] });
    expect(bundleFingerprints(ctb())).toHaveLength(2);

    // Pod b goes away; the next prune drops it, and retire may proceed.
    w.pods.delete('shop/b');
    w.clock.advance(61_000);
    await w.settle();
    expect(record() && pendingPods(record()!)).toBe(0);
    expect(podCertificatesRetired(record(), previous, new Date(w.clock.now))).toEqual({ ok: true });

    // retire (the previous CA gone from the CA Secret): the record is removed.
    w.setCa({ ...caMaterial(next, w.clock), bundlePem: next.certPem });
    await w.settle();
    expect(record()).toBeUndefined();
    expect(bundleFingerprints(ctb())).toEqual(bundleFingerprints(next.certPem));
  });

  it('without the record, or past the longest lifetime, says so', () => {
    expect(podCertificatesRetired(undefined, 'AB', new Date())).toMatchObject({
      ok: false,
      message: expect.stringMatching(/has not yet recorded/) as unknown,
    });
    const record = {
      previous: 'AB',
      active: 'CD',
      since: '2026-01-01T00:00:00Z',
      until: '2026-01-02T00:00:00Z',
      pods: { shop: ['x'] },
    };
    expect(podCertificatesRetired(record, 'AB', new Date('2026-01-01T12:00:00Z')).ok).toBe(false);
    expect(podCertificatesRetired(record, 'AB', new Date('2026-01-02T00:00:00Z')).ok).toBe(true);
  });
});
