/**
 * The Pod Certificates signer through the controller's queue, over in-memory APIs with API-server semantics
 * and the real pki; openssl checks what it signs. Requests are as a kubelet files them (openssl-made keys).
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openssl, tempDir } from '../../pki/helpers.js';
import { service } from '../harness.js';
import { WRITE_TIMEOUT_MS } from '../../../src/rotator/secret-writer.js';
import { signerWorld } from './world.js';
import { boundPod, kubeletRequest, stubCsr } from './requests.js';

function condition(w: ReturnType<typeof signerWorld>, name: string, namespace = 'shop') {
  const [only, ...rest] = w.requests.status(namespace, name)?.conditions ?? [];
  expect(rest).toEqual([]);
  return only;
}

describe('signing a request', () => {
  it('signs the SPIFFE leaf for the kubelet key, valid as the API server requires, and tells the pod', async () => {
    const w = signerWorld();
    w.controller.upsertService(service('web', { app: 'web' }));
    const pod = w.addPod(boundPod('web'));
    w.requests.store.put(kubeletRequest(pod, { name: 'req-web' }));
    await w.settle();

    const status = w.requests.status('shop', 'req-web');
    expect(status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Issued', 'True', 'Issued'],
    ]);
    const chain = status?.certificateChain ?? '';
    const leaf = new X509Certificate(chain);
    // The .svc forms only, as for Secrets (the short forms can be public names: dnsShortNames).
    expect(leaf.subjectAltName).toBe(
      'URI:spiffe://cluster.local/ns/shop/sa/web, DNS:web.shop.svc, DNS:web.shop.svc.cluster.local',
    );
    // The leaf carries the kubelet's public key, and verifies against the trust bundle (openssl).
    expect(openssl(['x509', '-noout', '-pubkey'], chain)).toBe(
      openssl(['pkey', '-pubout'], stubCsr('ECDSAP256').keyPem),
    );
    const dir = tempDir('mtls-signer-');
    try {
      const caFile = dir.path('ca.crt');
      openssl(['x509', '-out', caFile], w.certs.trustBundle());
      expect(openssl(['verify', '-CAfile', caFile, '-attime', String(w.clock.now / 1000)], chain)).toContain(
        'OK',
      );
    } finally {
      dir.cleanup();
    }
    // Times: whole seconds, equal to the leaf's, notBefore back-dated 60 s, refresh at 50 % of 24 h.
    const notBefore = Date.parse(status?.notBefore ?? '');
    const notAfter = Date.parse(status?.notAfter ?? '');
    expect(status?.notBefore).toMatch(/T\d\d:\d\d:\d\dZ$/);
    expect(notBefore).toBe(Date.parse(leaf.validFrom));
    expect(notAfter).toBe(Date.parse(leaf.validTo));
    expect(notBefore).toBe(Math.floor(w.clock.now / 1000) * 1000 - 60_000);
    expect(notAfter - notBefore).toBe(86_400_000);
    expect(Date.parse(status?.beginRefreshAt ?? '') - notBefore).toBe(43_200_000);
    expect(w.events.events.map((e) => [e.reason, e.target.kind, e.target.name])).toEqual([
      ['PodCertificateIssued', 'Pod', 'web'],
    ]);
    expect(w.counts['issued:pod_certificate']).toBe(1);
    // The pod cache confirmed the pod: no API read.
    expect(w.gets).toEqual([]);
  });

  it('grants at most the requested maxExpirationSeconds and refreshes inside the window', async () => {
    // podCertificate.refreshAt places the refresh; the Secrets' renewAt does not.
    const w = signerWorld({
      flags: { 'podCertificate.refreshAt': '0.1', renewAt: '0.9', renewJitter: '0' },
    });
    const pod = w.addPod(boundPod('short'));
    w.requests.store.put(kubeletRequest(pod, { name: 'req-short', maxExpirationSeconds: 3600 }));
    await w.settle();
    const status = w.requests.status('shop', 'req-short');
    const notBefore = Date.parse(status?.notBefore ?? '');
    expect(Date.parse(status?.notAfter ?? '') - notBefore).toBe(3_600_000);
    // 10 % of an hour is 6 min; the API server wants at least notBefore + 10 min.
    expect(Date.parse(status?.beginRefreshAt ?? '') - notBefore).toBe(600_000);
  });

  it('reads the pod from the API when the cache does not confirm it (not managed, or stale)', async () => {
    const w = signerWorld();
    const pod = w.addPod(boundPod('fresh', { uid: 'uid-new' }), false);
    w.part.upsertPod(boundPod('fresh', { uid: 'uid-old' }));
    w.requests.store.put(kubeletRequest(pod, { name: 'req-fresh' }));
    await w.settle();
    expect(w.gets).toEqual(['shop/fresh']);
    expect(condition(w, 'req-fresh')?.type).toBe('Issued');
  });

  it('signs for a pod that opts in itself in a namespace without the label', async () => {
    const w = signerWorld();
    const pod = w.addPod(boundPod('own', { namespace: 'plain', labels: { 'mtls-injection': 'enabled' } }));
    w.requests.store.put(kubeletRequest(pod, { name: 'req-own' }));
    await w.settle();
    expect(condition(w, 'req-own', 'plain')?.type).toBe('Issued');
  });

  it.each(['ED25519'] as const)('signs %s keys', async (keyType) => {
    const w = signerWorld();
    const pod = w.addPod(boundPod('k'));
    w.requests.store.put(kubeletRequest(pod, { name: 'req-k', keyType }));
    await w.settle();
    expect(condition(w, 'req-k')?.type).toBe('Issued');
  });
});

describe('denying a request, each with its reason, terminal', () => {
  const cases: {
    name: string;
    reason: string;
    message: RegExp;
    setup: (w: ReturnType<typeof signerWorld>) => ReturnType<typeof kubeletRequest>;
    eventOn: string;
  }[] = [
    {
      name: 'unsupported key type',
      reason: 'UnsupportedKeyType',
      message:
        /key type ECDSAP384 is not signed by mtls-injector\.io\/spiffe; use keyType ECDSAP256, RSA3072, ED25519/,
      setup: (w) => kubeletRequest(w.addPod(boundPod('p384')), { name: 'req', keyType: 'ECDSAP384' }),
      eventOn: 'Pod',
    },
    {
      name: 'namespace not opted in',
      reason: 'NamespaceNotOptedIn',
      message:
        /namespace "plain" is not opted in \(no mtls-injection label, and the pod does not carry mtls-injection=enabled\)/,
      setup: (w) => kubeletRequest(w.addPod(boundPod('stray', { namespace: 'plain' })), { name: 'req' }),
      eventOn: 'Pod',
    },
    {
      name: 'namespace opted out by value',
      reason: 'NamespaceNotOptedIn',
      message: /namespace "off" is not opted in \(mtls-injection=disabled\)/,
      setup: (w) => kubeletRequest(w.addPod(boundPod('x', { namespace: 'off' })), { name: 'req' }),
      eventOn: 'Pod',
    },
    {
      name: 'excluded namespace',
      reason: 'NamespaceNotOptedIn',
      message: /namespace "kube-system" is not opted in \(it is never injected\)/,
      setup: (w) => kubeletRequest(w.addPod(boundPod('sys', { namespace: 'kube-system' })), { name: 'req' }),
      eventOn: 'Pod',
    },
    {
      name: 'pod not found',
      reason: 'PodNotFound',
      message: /pod shop\/ghost does not exist/,
      setup: () => kubeletRequest(boundPod('ghost'), { name: 'req' }),
      eventOn: 'PodCertificateRequest',
    },
    {
      name: 'pod UID mismatch',
      reason: 'PodUIDMismatch',
      message: /pod shop\/web has UID uid-web, the request names UID uid-someone-else/,
      setup: (w) => kubeletRequest(w.addPod(boundPod('web')), { name: 'req', podUID: 'uid-someone-else' }),
      eventOn: 'Pod',
    },
    {
      name: 'service account mismatch',
      reason: 'ServiceAccountMismatch',
      message: /runs as service account "web", the request names "admin"/,
      setup: (w) => {
        const pod = w.addPod(boundPod('web'));
        return kubeletRequest(
          { ...pod, spec: { ...pod.spec, serviceAccountName: 'admin' } },
          { name: 'req' },
        );
      },
      eventOn: 'Pod',
    },
    {
      name: 'node mismatch',
      reason: 'NodeMismatch',
      message: /bound to node "node-1", the request comes from node "node-2"/,
      setup: (w) => kubeletRequest(w.addPod(boundPod('web')), { name: 'req', nodeName: 'node-2' }),
      eventOn: 'Pod',
    },
    {
      name: 'user annotations',
      reason: 'InvalidUnverifiedUserAnnotations',
      message: /userAnnotations "example.com\/role" are not recognised/,
      setup: (w) =>
        kubeletRequest(w.addPod(boundPod('web')), {
          name: 'req',
          userAnnotations: { 'example.com/role': 'x' },
        }),
      eventOn: 'Pod',
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const w = signerWorld();
      w.requests.store.put(c.setup(w));
      await w.settle();
      const status =
        w.requests.status('shop', 'req') ??
        w.requests.status(c.setup === cases[1]?.setup ? 'plain' : '', 'req');
      const found =
        status ?? [...w.requests.store.objects.values()].find((r) => r.metadata.name === 'req')?.status;
      const [cond, ...rest] = found?.conditions ?? [];
      expect(rest).toEqual([]);
      expect([cond?.type, cond?.status, cond?.reason]).toEqual(['Denied', 'True', c.reason]);
      expect(cond?.message).toMatch(c.message);
      expect(cond?.lastTransitionTime).toMatch(/T\d\d:\d\d:\d\dZ$/);
      // Denied: every other status field empty (the API server insists).
      expect(Object.keys(found ?? {})).toEqual(['conditions']);
      const event = w.events.events.find((e) => e.reason === 'PodCertificateDenied');
      expect(event?.target.kind).toBe(c.eventOn);
      expect(event?.message).toContain(`(${c.reason})`);
      expect(w.counts[`issued:pod_certificate`]).toBeUndefined();
    });
  }
});

describe('what the signer leaves alone', () => {
  it('requests of another signer, and answered ones', async () => {
    const w = signerWorld();
    const pod = w.addPod(boundPod('web'));
    w.requests.store.put(kubeletRequest(pod, { name: 'other', signerName: 'example.com/other' }));
    const answered = kubeletRequest(pod, { name: 'done' });
    w.requests.store.put({
      ...answered,
      status: { conditions: [{ type: 'Denied', status: 'True', reason: 'X', message: 'by someone' }] },
    });
    await w.settle();
    expect(w.requests.status('shop', 'other')).toBeUndefined();
    expect(w.requests.status('shop', 'done')?.conditions?.[0]?.message).toBe('by someone');
    expect(w.requests.store.writes.filter((x) => x.startsWith('status'))).toEqual([]);
  });

  it('decides nothing before the namespaces are listed (a denial would be final)', async () => {
    const w = signerWorld();
    w.state.synced = false;
    w.requests.store.put(kubeletRequest(boundPod('ghost'), { name: 'req' }));
    await w.settle();
    expect(w.requests.status('shop', 'req')).toBeUndefined();
    w.state.synced = true;
    w.clock.advance(120_000);
    await w.settle();
    expect(condition(w, 'req')?.reason).toBe('PodNotFound');
  });

  it('signs nothing while not leading', async () => {
    const w = signerWorld({ leader: false });
    w.requests.store.put(kubeletRequest(w.addPod(boundPod('web')), { name: 'req' }));
    await w.settle();
    expect(w.requests.status('shop', 'req')).toBeUndefined();
  });

  it('does not write once its write window is gone (leadership lost after the item was taken), and answers later', async () => {
    const w = signerWorld();
    w.state.writeWindowMs = 0;
    w.requests.store.put(kubeletRequest(w.addPod(boundPod('web')), { name: 'req' }));
    await w.settle();
    expect(w.requests.status('shop', 'req')).toBeUndefined();
    expect(w.part.pending()).toBe(1);
    w.state.writeWindowMs = Number.POSITIVE_INFINITY;
    w.clock.advance(120_000); // past the retry's backoff
    await w.settle();
    expect(condition(w, 'req')?.type).toBe('Issued');
  });

  it('gives the short DNS forms only with dnsShortNames, as for Secrets', async () => {
    const w = signerWorld({ flags: { dnsShortNames: 'true' } });
    w.controller.upsertService(service('web', { app: 'web' }));
    w.requests.store.put(kubeletRequest(w.addPod(boundPod('web')), { name: 'req-web' }));
    await w.settle();
    const leaf = new X509Certificate(w.requests.status('shop', 'req-web')?.certificateChain ?? '');
    expect(leaf.subjectAltName).toBe(
      'URI:spiffe://cluster.local/ns/shop/sa/web, DNS:web, DNS:web.shop, DNS:web.shop.svc, DNS:web.shop.svc.cluster.local',
    );
  });

  it('gives each status write a deadline within what is left of the leadership (at most the write timeout)', async () => {
    const w = signerWorld();
    w.state.writeWindowMs = 4_000;
    w.requests.store.put(kubeletRequest(w.addPod(boundPod('web')), { name: 'a' }));
    await w.settle();
    expect(condition(w, 'a')?.type).toBe('Issued');
    w.state.writeWindowMs = 600_000;
    w.requests.store.put(kubeletRequest(w.addPod(boundPod('api')), { name: 'b' }));
    await w.settle();
    expect(condition(w, 'b')?.type).toBe('Issued');
    expect(w.requests.store.deadlines).toEqual([4_000, WRITE_TIMEOUT_MS]);
  });

  it('a stale write (409) is re-read; a request answered meanwhile is not answered again', async () => {
    const w = signerWorld();
    const pcr = w.requests.store.put(kubeletRequest(w.addPod(boundPod('web')), { name: 'req' }));
    w.requests.store.faults.push({ op: 'status', status: 409 });
    // Meanwhile someone else answers: the signer must not overwrite (the API would refuse anyway).
    w.requests.store.objects.set('shop/req', {
      ...pcr,
      metadata: { ...pcr.metadata, resourceVersion: '999' },
      status: { conditions: [{ type: 'Denied', status: 'True', reason: 'Other', message: 'other signer' }] },
    });
    await w.settle();
    expect(condition(w, 'req')?.reason).toBe('Other');
    expect(w.events.reasons()).not.toContain('PodCertificateIssued');
  });
});

describe('a CA too close to its end', () => {
  it('fails the request (Failed, CAExpiresTooSoon) instead of signing a leaf under 1 h', async () => {
    const w = signerWorld();
    // The harness CA lives 365 days; jump to 30 minutes before its end.
    w.clock.now = w.ca.active.notAfter.getTime() - 30 * 60_000;
    w.requests.store.put(kubeletRequest(w.addPod(boundPod('web')), { name: 'req' }));
    await w.settle();
    const cond = condition(w, 'req');
    expect([cond?.type, cond?.reason]).toEqual(['Failed', 'CAExpiresTooSoon']);
    expect(cond?.message).toMatch(/rotate the CA/);
    expect(w.events.reasons()).toEqual(['PodCertificateFailed']);
  });
});
