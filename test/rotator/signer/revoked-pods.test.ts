/**
 * Revoking a pod with pod certificates (docs/revocation.md, "Pods with pod certificates"): the leader lists the
 * serials it issued to that pod UID in the record, evicts the pod (retrying while a PodDisruptionBudget blocks),
 * and the signer denies every later request naming that UID.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REVOCATIONS_CONFIGMAP } from '../../../src/core/names.js';
import type { PodRevocation } from '../../../src/model/pod-revocations.js';
import { readRevocationRecord, revocationConfigMap } from '../../../src/model/revocations.js';
import { EVICTION_RETRY_MS } from '../../../src/rotator/signer/revoked-pods.js';
import { boundPod, kubeletRequest } from './requests.js';
import { signerWorld } from './world.js';

const RECORD = `mtls-injector/${REVOCATIONS_CONFIGMAP}`;

function podEntry(uid: string, revokedAt: Date): PodRevocation {
  return {
    pod: 'shop/web',
    uid,
    identity: 'spiffe://cluster.local/ns/shop/sa/web',
    reason: 'keyCompromise',
    revokedAt: revokedAt.toISOString(),
    until: new Date(revokedAt.getTime() + 86_400_000).toISOString(),
    by: 'alice',
    target: 'pod shop/web',
  };
}

function serialOf(pem: string | undefined): string {
  return new X509Certificate(pem ?? '').serialNumber.toLowerCase().replace(/^(00)+/, '');
}

describe('a revoked pod with pod certificates', () => {
  it('has every serial it was issued put on the record, is evicted, and is denied new certificates', async () => {
    const w = signerWorld();
    const pod = w.addPod(boundPod('web'));
    w.requests.store.put(kubeletRequest(pod, { name: 'first' }));
    await w.settle();
    const issued = serialOf(w.requests.status('shop', 'first')?.certificateChain);
    // The request is deleted after 15 minutes (the API server's cleaner): only the issued index knows it.
    w.requests.store.objects.delete('shop/first');

    w.configMaps.store.put(
      revocationConfigMap('mtls-injector', [], undefined, [podEntry('uid-web', new Date(w.clock.read()))]),
    );
    await w.settle();

    const record = readRevocationRecord(w.configMaps.store.get(RECORD));
    expect(record.entries.map((e) => [e.serial, e.pod, e.reason, e.by])).toEqual([
      [issued, 'shop/web', 'keyCompromise', 'alice'],
    ]);
    expect(record.entries[0]?.issuer).toBe(w.ca.active.subjectKeyIdHex);
    expect(record.pods).toHaveLength(1);
    expect(w.evicted).toEqual(['shop/web uid-web evicted']);
    expect(w.events.reasons()).toContain('RevokedPodEvicted');

    // A stale refresh (or the kubelet-side key in other hands) asks again for that UID: denied.
    w.addPod(pod); // still there, e.g. terminating
    w.requests.store.put(kubeletRequest(pod, { name: 'again' }));
    await w.settle();
    const again = w.requests.status('shop', 'again');
    expect(again?.conditions?.[0]).toMatchObject({ type: 'Denied', reason: 'PodRevoked' });
    expect(again?.conditions?.[0]?.message).toMatch(/revoked by alice .* \(keyCompromise\)/);
    expect(again?.certificateChain).toBeUndefined();

    // Its replacement (a new UID) is signed as usual.
    const replacement = w.addPod(boundPod('web-2'));
    w.requests.store.put(kubeletRequest(replacement, { name: 'new' }));
    await w.settle();
    expect(w.requests.status('shop', 'new')?.conditions?.[0]?.type).toBe('Issued');
    // Evicted once only, however often it is re-checked.
    w.clock.advance(120_000);
    await w.settle();
    expect(w.evicted).toHaveLength(1);
  });

  it('retries an eviction a PodDisruptionBudget blocks, with one Event saying so', async () => {
    const w = signerWorld();
    w.addPod(boundPod('web'));
    w.state.evictions = ['blocked', 'blocked'];
    w.configMaps.store.put(
      revocationConfigMap('mtls-injector', [], undefined, [podEntry('uid-web', new Date(w.clock.read()))]),
    );
    await w.settle();
    expect(w.evicted).toEqual(['shop/web uid-web blocked']);
    for (let i = 0; i < 2; i++) {
      w.clock.advance(EVICTION_RETRY_MS);
      await w.settle();
    }
    expect(w.evicted).toEqual([
      'shop/web uid-web blocked',
      'shop/web uid-web blocked',
      'shop/web uid-web evicted',
    ]);
    expect(w.events.reasons().filter((r) => r === 'RevokedPodEvictionBlocked')).toHaveLength(1);
    expect(w.events.reasons()).toContain('RevokedPodEvicted');
  });

  it('judges no request before the leader has read the revocation record', async () => {
    const w = signerWorld();
    w.configMaps.store.put(
      revocationConfigMap('mtls-injector', [], undefined, [podEntry('uid-web', new Date(w.clock.read()))]),
    );
    const pod = w.addPod(boundPod('web'));
    w.requests.store.put(kubeletRequest(pod, { name: 'early' }));
    // The controller runs, but the record was not read yet: nothing is decided (a signature would be final).
    await w.controller.drain();
    expect(w.requests.status('shop', 'early')).toBeUndefined();
    w.clock.advance(60_000);
    await w.settle();
    expect(w.requests.status('shop', 'early')?.conditions?.[0]?.reason).toBe('PodRevoked');
  });
});
