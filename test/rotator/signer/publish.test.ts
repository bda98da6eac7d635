/**
 * What the rotator publishes for Pod Certificates: the delivery facts the webhook reads (always, also where the
 * answer is "no PodCertificateRequests"), and the trust bundle podCertificate volumes mount as ca.crt.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseClusterFacts } from '../../../src/core/delivery.js';
import { bundleFingerprints, mergeBundles } from '../../../src/pki/bundle.js';
import { WRITE_TIMEOUT_MS } from '../../../src/rotator/secret-writer.js';
import { caMaterial, makeCa } from '../harness.js';
import { boundPod, kubeletRequest } from './requests.js';
import { signerWorld } from './world.js';

describe('delivery facts (delivery.factsConfigMap)', () => {
  it('publishes what the API server serves once, and rewrites only when that changes', async () => {
    const w = signerWorld();
    await w.settle();
    const cm = w.configMaps.store.get('mtls-injector/mtls-injector-delivery');
    expect(cm?.metadata.labels?.['mtls-injector.io/managed']).toBe('true');
    const parsed = parseClusterFacts(cm?.data?.['delivery.json'] ?? '');
    expect(parsed.ok && parsed.facts).toMatchObject({
      podCertificateRequests: 'certificates.k8s.io/v1',
      clusterTrustBundles: 'certificates.k8s.io/v1',
      serverVersion: 'v1.37.2',
      detectedBy: 'rotator-a',
    });
    // A later re-check (leadership gained again) finds nothing changed and writes nothing.
    const writes = w.configMaps.store.writes.length;
    w.controller.enqueue('delivery-facts');
    await w.settle();
    expect(w.configMaps.store.writes.length).toBe(writes);
  });

  it('publishes "not served" on a cluster without the API, so auto gives Secrets; no signer runs', async () => {
    const w = signerWorld({
      served: { podCertificateRequests: undefined, clusterTrustBundles: undefined, serverVersion: 'v1.34.4' },
    });
    w.requests.store.put(kubeletRequest(w.addPod(boundPod('web')), { name: 'req' }));
    await w.settle();
    const parsed = parseClusterFacts(
      w.configMaps.store.get('mtls-injector/mtls-injector-delivery')?.data?.['delivery.json'] ?? '',
    );
    expect(parsed.ok && parsed.facts.podCertificateRequests).toBeNull();
    expect(w.requests.status('shop', 'req')).toBeUndefined();
    expect(w.bundles.store.objects.size).toBe(0);
  });

  it('never overwrites a ConfigMap of that name it does not own', async () => {
    const w = signerWorld();
    w.configMaps.store.put({
      metadata: { namespace: 'mtls-injector', name: 'mtls-injector-delivery' },
      data: { 'delivery.json': 'mine' },
    });
    await w.settle();
    expect(w.configMaps.store.get('mtls-injector/mtls-injector-delivery')?.data).toEqual({
      'delivery.json': 'mine',
    });
    expect(w.log.lines.some((l) => l.level === 'warn' && /not overwritten/.test(l.msg))).toBe(true);
  });
});

describe('publishing within the leadership', () => {
  it('gives every write a deadline within what is left of the leadership, and writes nothing without it', async () => {
    const w = signerWorld({ flags: { 'podCertificate.trustBundle': 'configMap' } });
    w.state.writeWindowMs = 500; // less than one round trip: refused, retried later
    await w.settle();
    expect(w.configMaps.store.objects.size).toBe(0);
    expect(w.configMaps.store.deadlines).toEqual([]);

    w.state.writeWindowMs = 3_000;
    w.clock.advance(120_000); // past the retries' backoff
    await w.settle();
    expect(w.configMaps.store.get('mtls-injector/mtls-injector-delivery')).toBeDefined();
    expect(w.configMaps.store.get('shop/mtls-injector-trust-bundle')).toBeDefined();
    expect(w.configMaps.store.deadlines.length).toBeGreaterThanOrEqual(2);
    expect(new Set(w.configMaps.store.deadlines)).toEqual(new Set([3_000]));
  });

  it('caps the deadline of a ClusterTrustBundle write at the write timeout', async () => {
    const w = signerWorld();
    w.state.writeWindowMs = 600_000;
    await w.settle();
    expect(w.bundles.store.objects.size).toBe(1);
    expect(w.bundles.store.deadlines).toEqual([WRITE_TIMEOUT_MS]);
  });
});

describe('the trust bundle of podCertificate volumes', () => {
  it('is the signer ClusterTrustBundle, holding old and new roots during a CA rotation', async () => {
    const w = signerWorld();
    await w.settle();
    const name = 'mtls-injector.io:spiffe:trust-bundle';
    const first = w.bundles.store.get(`/${name}`);
    expect(first?.spec.signerName).toBe('mtls-injector.io/spiffe');
    expect(bundleFingerprints(first?.spec.trustBundle ?? '')).toEqual(bundleFingerprints(w.ca.bundlePem));

    // ca rotate prepare: the new root joins the bundle; the ClusterTrustBundle follows.
    const next = makeCa(w.clock);
    w.setCa({ ...w.ca, bundlePem: mergeBundles(w.ca.bundlePem, next.certPem) });
    await w.settle();
    const both = w.bundles.store.get(`/${name}`)?.spec.trustBundle ?? '';
    expect(bundleFingerprints(both)).toEqual(bundleFingerprints(w.certs.trustBundle()));
    expect(bundleFingerprints(both)).toHaveLength(2);

    // ca rotate activate: new requests are signed by the new CA; the bundle still trusts both.
    w.setCa({ ...caMaterial(next, w.clock), bundlePem: both });
    w.requests.store.put(kubeletRequest(w.addPod(boundPod('web')), { name: 'after' }));
    await w.settle();
    const chain = w.requests.status('shop', 'after')?.certificateChain ?? '';
    expect(new X509Certificate(chain).checkIssued(new X509Certificate(next.certPem))).toBe(true);
    expect(bundleFingerprints(w.bundles.store.get(`/${name}`)?.spec.trustBundle ?? '')).toHaveLength(2);
  });

  it('is a ConfigMap in each namespace that needs one where ClusterTrustBundles are not used', async () => {
    const w = signerWorld({ flags: { 'podCertificate.trustBundle': 'configMap' } });
    // A pod opting in itself in an unlabelled namespace files a request: its namespace gets the ConfigMap too.
    w.requests.store.put(
      kubeletRequest(
        w.addPod(boundPod('own', { namespace: 'plain', labels: { 'mtls-injection': 'enabled' } })),
        {
          name: 'req',
        },
      ),
    );
    await w.settle();
    for (const ns of ['shop', 'plain']) {
      const cm = w.configMaps.store.get(`${ns}/mtls-injector-trust-bundle`);
      expect(cm?.data?.['ca.crt'], ns).toBe(mergeBundles(w.ca.bundlePem));
    }
    expect(w.configMaps.store.get('off/mtls-injector-trust-bundle')).toBeUndefined();
    // A namespace that opts in later gets one.
    w.namespaceLabels.set('late', { 'mtls-injection': 'strict' });
    w.part.namespaceChanged('late', { 'mtls-injection': 'strict' });
    await w.settle();
    expect(w.configMaps.store.get('late/mtls-injector-trust-bundle')?.data?.['ca.crt']).toBe(
      mergeBundles(w.ca.bundlePem),
    );
  });
});

describe('ca.crl of podCertificate volumes (the per-namespace ConfigMap)', () => {
  const crlOf = (label: string) => `-----BEGIN X509 CRL-----\n${label}\n-----END X509 CRL-----\n`;

  it('with a ClusterTrustBundle: the namespace ConfigMap holds only ca.crl, once a CRL is published', async () => {
    const w = signerWorld();
    await w.settle();
    // No CRL yet: nothing to write (ca.crt comes from the ClusterTrustBundle; the projection is optional).
    expect(w.configMaps.store.get('shop/mtls-injector-trust-bundle')).toBeUndefined();

    w.state.crl = crlOf('first');
    w.part.crlChanged();
    await w.settle();
    const cm = w.configMaps.store.get('shop/mtls-injector-trust-bundle');
    expect(cm?.data).toEqual({ 'ca.crl': crlOf('first') });
    expect(cm?.metadata.labels?.['mtls-injector.io/managed']).toBe('true');
    // Namespaces not opted in get none.
    expect(w.configMaps.store.get('off/mtls-injector-trust-bundle')).toBeUndefined();
    expect(w.configMaps.store.get('plain/mtls-injector-trust-bundle')).toBeUndefined();

    // A revocation (a new CRL) reaches every namespace's ConfigMap; an unchanged one writes nothing.
    w.state.crl = crlOf('second');
    w.part.crlChanged();
    await w.settle();
    expect(w.configMaps.store.get('shop/mtls-injector-trust-bundle')?.data?.['ca.crl']).toBe(crlOf('second'));
    const writes = w.configMaps.store.writes.length;
    w.part.crlChanged();
    await w.settle();
    expect(w.configMaps.store.writes.length).toBe(writes);
  });

  it('with podCertificate.trustBundle=configMap: ca.crt and ca.crl side by side', async () => {
    const w = signerWorld({ flags: { 'podCertificate.trustBundle': 'configMap' } });
    await w.settle();
    expect(w.configMaps.store.get('shop/mtls-injector-trust-bundle')?.data).toEqual({
      'ca.crt': mergeBundles(w.ca.bundlePem),
    });
    w.state.crl = crlOf('first');
    w.part.crlChanged();
    await w.settle();
    expect(w.configMaps.store.get('shop/mtls-injector-trust-bundle')?.data).toEqual({
      'ca.crt': mergeBundles(w.ca.bundlePem),
      'ca.crl': crlOf('first'),
    });
  });

  it('forgets a namespace that was deleted (404) instead of retrying it on every CRL', async () => {
    const w = signerWorld();
    // A pod of a namespace the Namespace watch does not show (deleted since) filed a request.
    w.requests.store.put(kubeletRequest(w.addPod(boundPod('gone', { namespace: 'deleted' })), { name: 'r' }));
    await w.settle();
    w.state.crl = crlOf('first');
    w.configMaps.store.faults.push({ op: 'create', status: 404 }); // namespaces "deleted" not found
    w.part.crlChanged();
    await w.settle();
    expect(w.configMaps.store.get('deleted/mtls-injector-trust-bundle')).toBeUndefined();
    const warnings = w.log.lines.filter((l) => l.level === 'warn').length;
    // The next CRLs do not go there again: nothing is attempted, nothing retried.
    w.state.crl = crlOf('second');
    w.part.crlChanged();
    w.clock.advance(120_000);
    await w.settle();
    expect(w.configMaps.store.get('deleted/mtls-injector-trust-bundle')).toBeUndefined();
    expect(w.configMaps.store.get('shop/mtls-injector-trust-bundle')?.data?.['ca.crl']).toBe(crlOf('second'));
    expect(w.log.lines.filter((l) => l.level === 'warn').length).toBe(warnings);
  });

  it('never overwrites a foreign ConfigMap of that name, and says what the pods miss', async () => {
    const w = signerWorld();
    w.configMaps.store.put({
      metadata: { namespace: 'shop', name: 'mtls-injector-trust-bundle' },
      data: { other: 'mine' },
    });
    w.state.crl = crlOf('first');
    await w.settle();
    expect(w.configMaps.store.get('shop/mtls-injector-trust-bundle')?.data).toEqual({ other: 'mine' });
    expect(w.log.lines.some((l) => l.level === 'warn' && /get no ca\.crl\b/.test(l.msg))).toBe(true);
  });
});
