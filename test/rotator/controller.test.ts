import { describe, expect, it } from 'vitest';
import {
  CA_FILE,
  CERT_FILE,
  KEY_FILE,
  MANAGED_LABEL,
  POD_LABEL,
  SEAL_ANNOTATION,
} from '../../src/core/names.js';
import { sealKeyOf, sealMatches, sealOf } from '../../src/pki/seal.js';
import type { SecretObject } from '../../src/kube/types.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { verifyLeaf } from '../../src/pki/verify.js';
import { mergeBundles } from '../../src/pki/bundle.js';
import { tlsData } from '../../src/model/workload-secret.js';
import { secretFile } from '../../src/model/secret-data.js';
import { caMaterial, makeCa, makeHarness, managedPod, service } from './harness.js';
import { WORKERS } from '../../src/rotator/controller.js';
import { FakeSecretApi } from '../fakes/kube.js';
import type { CallOptions } from '../../src/kube/types.js';

const HOUR = 3_600_000;

function files(secret: SecretObject | undefined): { cert: string; key: string; ca: string } {
  if (secret === undefined) throw new Error('expected a Secret');
  return {
    cert: secretFile(secret, CERT_FILE) ?? '',
    key: secretFile(secret, KEY_FILE) ?? '',
    ca: secretFile(secret, CA_FILE) ?? '',
  };
}

function verified(secret: SecretObject | undefined, spiffeId: string, now: number) {
  const f = files(secret);
  return verifyLeaf({
    certChainPem: f.cert,
    keyPem: f.key,
    trustBundlePem: f.ca,
    now: new Date(now),
    expectedSpiffeId: spiffeId,
  });
}

describe('RotatorController: issuing', () => {
  it('creates the Secret a marked pod names, owned by the pod, in the contract layout', async () => {
    const h = makeHarness();
    const pod = managedPod('web-7d9f-abcde', { serviceAccount: 'web' });
    h.controller.upsertPod(pod);
    await h.settle();

    const secret = h.secrets.objects.get('shop/web-7d9f-abcde-mtls');
    expect(secret?.type).toBe('kubernetes.io/tls');
    expect(secret?.metadata.labels).toEqual({ [MANAGED_LABEL]: 'true', [POD_LABEL]: 'web-7d9f-abcde' });
    expect(secret?.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Pod', name: 'web-7d9f-abcde', uid: pod.metadata.uid, controller: true },
    ]);
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual([CA_FILE, CERT_FILE, KEY_FILE]);
    expect(files(secret).key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const result = verified(secret, 'spiffe://cluster.local/ns/shop/sa/web', h.clock.now);
    expect(result.problems).toEqual([]);
    expect(result.leaf?.notAfter.getTime()).toBe(h.clock.now + HOUR);
    expect(h.events.reasons()).toEqual(['CertificateIssued']);
    expect(h.counts['issued:issued']).toBe(1);
  });

  it('keeps the pod label a valid label value for names longer than 63 characters (C17)', async () => {
    const h = makeHarness();
    const name = `${'a'.repeat(120)}-0`;
    h.controller.upsertPod(managedPod(name, { secretName: 'long-mtls' }));
    await h.settle();
    const label = h.secrets.objects.get('shop/long-mtls')?.metadata.labels?.[POD_LABEL] ?? '';
    expect(label.length).toBeLessThanOrEqual(63);
    expect(label).toMatch(/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/);
    expect(label.startsWith('aaaa')).toBe(true);
  });

  it('adds DNS SANs only for Services whose selector matches the pod, only the .svc forms by default', async () => {
    const h = makeHarness();
    h.controller.upsertService(service('api', { app: 'api' }));
    h.controller.upsertService(service('other', { app: 'other' }));
    h.controller.upsertService(service('headless-all', {}));
    h.controller.upsertPod(managedPod('api-0', { labels: { app: 'api' } }));
    await h.settle();
    const leaf = verified(
      h.secrets.objects.get('shop/api-0-mtls'),
      'spiffe://cluster.local/ns/shop/sa/web',
      h.clock.now,
    ).leaf;
    // `api` and `api.shop` could be public names (a Service named `web` in a namespace `dev`: web.dev).
    expect([...(leaf?.dnsNames ?? [])].sort()).toEqual(['api.shop.svc', 'api.shop.svc.cluster.local']);
  });

  it('adds the short forms <svc> and <svc>.<ns> only with dnsShortNames', async () => {
    const h = makeHarness({ flags: { dnsShortNames: 'true' } });
    h.controller.upsertService(service('web', { app: 'web' }, 'shop'));
    h.controller.upsertPod(managedPod('web-0', { labels: { app: 'web' } }));
    await h.settle();
    const leaf = verified(
      h.secrets.objects.get('shop/web-0-mtls'),
      'spiffe://cluster.local/ns/shop/sa/web',
      h.clock.now,
    ).leaf;
    expect([...(leaf?.dnsNames ?? [])].sort()).toEqual([
      'web',
      'web.shop',
      'web.shop.svc',
      'web.shop.svc.cluster.local',
    ]);
  });

  it('reissues when a Service starts selecting the pod', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('api-0', { labels: { app: 'api' } }));
    await h.settle();
    h.controller.upsertService(service('api', { app: 'api' }));
    await h.settle();
    const leaf = verified(
      h.secrets.objects.get('shop/api-0-mtls'),
      'spiffe://cluster.local/ns/shop/sa/web',
      h.clock.now,
    ).leaf;
    expect(leaf?.dnsNames).toContain('api.shop.svc.cluster.local');
    expect(h.counts['issued:reissued']).toBe(1);
  });

  it('writes nothing while following (only the leader writes)', async () => {
    const h = makeHarness({ leader: false });
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    expect(h.secrets.writes()).toBe(0);
  });

  it('ignores pods without an mtls-certs Secret volume and terminating pods', async () => {
    const h = makeHarness();
    const noVolume = managedPod('a');
    h.controller.upsertPod({ ...noVolume, spec: { serviceAccountName: 'web' } });
    const terminating = managedPod('b');
    h.controller.upsertPod({
      ...terminating,
      metadata: { ...terminating.metadata, deletionTimestamp: '2026-11-23T00:00:00Z' },
    });
    await h.settle();
    expect(h.secrets.writes()).toBe(0);
  });
});

describe('RotatorController: renewing', () => {
  it('renews at 50 % ± 10 % of the lifetime, before expiry, and not before', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    const first = files(h.secrets.objects.get('shop/web-0-mtls')).cert;

    h.clock.advance(0.39 * HOUR);
    await h.settle();
    expect(files(h.secrets.objects.get('shop/web-0-mtls')).cert).toBe(first);

    h.clock.advance(0.22 * HOUR);
    await h.settle();
    const renewed = h.secrets.objects.get('shop/web-0-mtls');
    expect(files(renewed).cert).not.toBe(first);
    expect(verified(renewed, 'spiffe://cluster.local/ns/shop/sa/web', h.clock.now).ok).toBe(true);
    expect(h.events.reasons()).toEqual(['CertificateIssued', 'CertificateRenewed']);
    expect(h.counts['issued:renewed']).toBe(1);
  });

  it('keeps every certificate valid over two hours with a 3-minute lifetime', async () => {
    const h = makeHarness({ flags: { leafLifetime: '3m', backdate: '10s', 'ca.propagationDelay': '60s' } });
    for (let i = 0; i < 5; i++) h.controller.upsertPod(managedPod(`web-${i}`));
    await h.settle();
    for (let t = 0; t < 240; t++) {
      h.clock.advance(30_000);
      await h.settle();
      for (let i = 0; i < 5; i++) {
        expect(
          verified(
            h.secrets.objects.get(`shop/web-${i}-mtls`),
            'spiffe://cluster.local/ns/shop/sa/web',
            h.clock.now,
          ).problems,
        ).toEqual([]);
      }
    }
    // Renewed every ~90 s (50 % ± 10 % of 3 min): about 80 times per pod in two hours.
    expect(h.counts['issued:renewed']).toBeGreaterThan(5 * 70);
  });

  it('spaces a renewal storm of 200 Secrets by the token bucket (F4)', async () => {
    const h = makeHarness({ flags: { 'rotator.writeQps': '50', 'rotator.writeBurst': '10' } });
    const start = h.clock.now;
    for (let i = 0; i < 200; i++) h.controller.upsertPod(managedPod(`p-${i}`));
    await h.settle();
    expect(h.secrets.objects.size).toBe(200);
    // 200 writes at 50/s after a burst of 10: the fake sleep advanced the clock by (200 - 10) / 50 s.
    expect(h.clock.now - start).toBe(3800);
  });
});

describe('RotatorController: Secrets it must not trust or must repair', () => {
  it('never overwrites a foreign Secret with the same name (D1)', async () => {
    const h = makeHarness();
    h.secrets.put({
      metadata: { name: 'web-0-mtls', namespace: 'shop' },
      type: 'Opaque',
      data: { password: 'aHVudGVyMg==' },
    });
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    expect(h.secrets.objects.get('shop/web-0-mtls')?.data).toEqual({ password: 'aHVudGVyMg==' });
    expect(h.events.reasons()).toEqual(['ForeignSecret']);
    expect(h.events.events[0]?.type).toBe('Warning');
    expect(h.counts.foreign).toBe(1);
  });

  it('recognises its own Secret when the create answer was lost (D5)', async () => {
    const h = makeHarness();
    h.secrets.faults.push({ op: 'create', status: 500, afterWrite: true });
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    h.clock.advance(5000);
    await h.settle();
    expect(h.counts.foreign).toBeUndefined();
    expect(h.secrets.calls.filter((c) => c.op === 'create')).toHaveLength(1);
    expect(
      verified(h.secrets.objects.get('shop/web-0-mtls'), 'spiffe://cluster.local/ns/shop/sa/web', h.clock.now)
        .ok,
    ).toBe(true);
  });

  it('recreates a Secret deleted while its pod runs (F6)', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    await h.secrets.delete('shop', 'web-0-mtls');
    await h.settle();
    expect(h.secrets.objects.has('shop/web-0-mtls')).toBe(true);
    expect(h.events.reasons()).toEqual(['CertificateIssued', 'CertificateIssued']);
  });

  it('reissues a tampered Secret: wrong identity, foreign key, expired (F7)', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    const original = h.secrets.objects.get('shop/web-0-mtls') as SecretObject;
    const wrong = issueLeaf(h.ca.active, {
      spiffeId: 'spiffe://cluster.local/ns/shop/sa/admin',
      keyAlgorithm: 'ecdsa-p256',
      lifetimeSeconds: 3600,
      backdateSeconds: 60,
      now: new Date(h.clock.now),
    });
    const other = issueLeaf(h.ca.active, {
      spiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
      keyAlgorithm: 'ecdsa-p256',
      lifetimeSeconds: 3600,
      backdateSeconds: 60,
      now: new Date(h.clock.now),
    });
    for (const [cert, key, reason] of [
      [wrong.certPem, wrong.keyPem, 'wrong_identity'],
      [files(original).cert, other.keyPem, 'key_mismatch'],
    ] as const) {
      const current = h.secrets.objects.get('shop/web-0-mtls') as SecretObject;
      h.secrets.put({ ...current, data: tlsData(cert, key, h.ca.bundlePem) });
      await h.settle();
      const repaired = h.secrets.objects.get('shop/web-0-mtls');
      expect(
        verified(repaired, 'spiffe://cluster.local/ns/shop/sa/web', h.clock.now).problems,
        reason,
      ).toEqual([]);
    }
    expect(h.counts['issued:reissued']).toBe(2);
  });

  it('seals what it writes; a seal made without the CA key does not spare a swapped key (F7)', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    const original = h.secrets.objects.get('shop/web-0-mtls') as SecretObject;
    const seal = original.metadata.annotations?.[SEAL_ANNOTATION] ?? '';
    const { cert, key } = files(original);
    expect(sealMatches(sealKeyOf(h.ca.active.keyPem), seal, cert, key)).toBe(true);

    // The pod's author swaps in a key of their own and seals the pair with a key of their own.
    const other = issueLeaf(makeCa(h.clock), {
      spiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
      keyAlgorithm: 'ecdsa-p256',
      lifetimeSeconds: 3600,
      backdateSeconds: 60,
      now: new Date(h.clock.now),
    });
    const forged = sealOf(sealKeyOf(other.keyPem), cert, other.keyPem);
    h.secrets.put({
      ...original,
      metadata: { ...original.metadata, annotations: { [SEAL_ANNOTATION]: forged } },
      data: tlsData(cert, other.keyPem, h.ca.bundlePem),
    });
    await h.settle();
    const repaired = h.secrets.objects.get('shop/web-0-mtls');
    expect(verified(repaired, 'spiffe://cluster.local/ns/shop/sa/web', h.clock.now).problems).toEqual([]);
    expect(h.counts['issued:reissued']).toBe(1);
    expect(repaired?.metadata.annotations?.[SEAL_ANNOTATION]).not.toBe(forged);
  });

  it('takes over the Secret of an earlier pod with the same name (StatefulSet restart)', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('db-0', { uid: 'old-uid' }));
    await h.settle();
    h.controller.removePod(managedPod('db-0', { uid: 'old-uid' }));
    h.controller.upsertPod(managedPod('db-0', { uid: 'new-uid' }));
    await h.settle();
    expect(h.secrets.objects.get('shop/db-0-mtls')?.metadata.ownerReferences?.[0]?.uid).toBe('new-uid');
    expect(h.counts.foreign).toBeUndefined();
  });

  it('reports an immutable managed Secret and does not spin (F11)', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    const current = h.secrets.objects.get('shop/web-0-mtls') as SecretObject;
    h.secrets.put({ ...current, immutable: true });
    const writes = h.secrets.writes();
    h.clock.advance(0.7 * HOUR);
    await h.settle();
    expect(h.secrets.writes()).toBe(writes);
    expect(h.events.reasons()).toContain('IssueFailed');
    expect(h.counts['failed:immutable_secret']).toBeGreaterThan(0);
  });
});

describe('RotatorController: API failures', () => {
  it('re-reads and retries on a write conflict (F3)', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    h.secrets.faults.push({ op: 'replace', status: 409 });
    h.clock.advance(0.61 * HOUR);
    await h.settle();
    expect(h.counts['issued:renewed']).toBe(1);
    expect(h.secrets.calls.filter((c) => c.op === 'replace')).toHaveLength(2);
  });

  it('backs off on 403 instead of retrying in a tight loop (D2)', async () => {
    const h = makeHarness();
    h.secrets.faults.push({ op: 'create', status: 403 }, { op: 'create', status: 403 });
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    expect(h.secrets.calls.filter((c) => c.op === 'create')).toHaveLength(1);
    expect(h.controller.nextWakeup()).toBeGreaterThanOrEqual(h.clock.now + 5000);
    expect(h.events.reasons()).toEqual(['IssueFailed']);
    h.clock.advance(30_000);
    await h.settle();
    h.clock.advance(60_000);
    await h.settle();
    expect(h.secrets.objects.has('shop/web-0-mtls')).toBe(true);
    expect(h.counts['failed:forbidden']).toBe(2);
  });

  it('retries 5xx with backoff and converges (D3)', async () => {
    const h = makeHarness();
    for (let i = 0; i < 3; i++) h.secrets.faults.push({ op: 'create', status: 503 });
    h.controller.upsertPod(managedPod('web-0'));
    for (let i = 0; i < 10 && !h.secrets.objects.has('shop/web-0-mtls'); i++) {
      await h.settle();
      h.clock.advance(10_000);
    }
    expect(h.secrets.objects.has('shop/web-0-mtls')).toBe(true);
    expect(h.counts['failed:server_error']).toBe(3);
  });
});

describe('RotatorController: restarts and trust changes', () => {
  it('converges after a restart without rewriting healthy Secrets (F1/F2)', async () => {
    const first = makeHarness();
    const pods = [managedPod('a'), managedPod('b')];
    for (const pod of pods) first.controller.upsertPod(pod);
    await first.settle();
    const writes = first.secrets.writes();

    // A new process: same API contents, same CA, fresh memory.
    const second = makeHarness({ clock: first.clock });
    second.ca = first.ca;
    for (const [, s] of first.secrets.objects)
      second.secrets.objects.set(`${s.metadata.namespace}/${s.metadata.name}`, s);
    for (const s of second.secrets.objects.values()) second.controller.upsertSecret(s);
    for (const pod of pods) second.controller.upsertPod(pod);
    await second.settle();
    expect(second.secrets.writes()).toBe(0);
    expect(writes).toBe(2);
  });

  it('refreshes only ca.crt when the trust bundle gains a root, keeping the leaf', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    const before = files(h.secrets.objects.get('shop/web-0-mtls'));
    const next = makeCa(h.clock);
    h.setCa({ ...h.ca, bundlePem: mergeBundles(h.ca.bundlePem, next.certPem) });
    await h.settle();
    const after = files(h.secrets.objects.get('shop/web-0-mtls'));
    expect(after.cert).toBe(before.cert);
    expect(after.ca).toContain(next.certPem.trim());
    expect(h.counts['issued:bundle_refreshed']).toBe(1);
  });

  it('reissues from a newly activated CA', async () => {
    const h = makeHarness();
    h.controller.upsertPod(managedPod('web-0'));
    await h.settle();
    const next = caMaterial(makeCa(h.clock), h.clock);
    h.setCa({ ...next, bundlePem: mergeBundles(h.ca.bundlePem, next.active.certPem) });
    await h.settle();
    const leaf = files(h.secrets.objects.get('shop/web-0-mtls'));
    const chainsToNew = verifyLeaf({
      certChainPem: leaf.cert,
      trustBundlePem: next.active.certPem,
      now: new Date(h.clock.now),
    });
    expect(chainsToNew.problems).toEqual([]);
    expect(h.counts['issued:reissued']).toBe(1);
  });
});

/** A Secret store whose creates wait until released: how many are in flight at once is observable. */
class HeldCreates extends FakeSecretApi {
  inFlight = 0;
  maxInFlight = 0;
  private waiting: (() => void)[] = [];

  override async create(secret: SecretObject, options?: CallOptions): Promise<SecretObject> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight -= 1;
    return super.create(secret, options);
  }

  release(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/** Lets every pending promise callback and I/O turn run. */
const turns = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('RotatorController: a burst of new pods', () => {
  it('issues pods whose events arrive during a drain on idle workers, not behind the busy one', async () => {
    const secrets = new HeldCreates();
    const h = makeHarness({ secrets });
    h.controller.upsertPod(managedPod('web-0'));
    const drained = h.controller.drain();
    await turns();
    expect(secrets.inFlight).toBe(1);
    // The rest of the burst arrives while web-0's create is still on the wire; each event kicks a drain.
    for (let i = 1; i < WORKERS + 4; i++) {
      h.controller.upsertPod(managedPod(`web-${i}`));
      void h.controller.drain();
    }
    await turns();
    expect(secrets.inFlight).toBe(WORKERS); // every worker busy, none more
    let resolved = false;
    void drained.then(() => (resolved = true));
    for (let i = 0; i < 5 && secrets.objects.size < WORKERS + 4; i++) {
      secrets.release();
      await turns();
    }
    await drained;
    expect(resolved).toBe(true);
    expect(secrets.maxInFlight).toBe(WORKERS);
    expect(secrets.objects.size).toBe(WORKERS + 4);
    expect(h.counts['issued:issued']).toBe(WORKERS + 4);
  });

  it("logs where a pod's first Secret spent its time: queued, issuing, the write token, the create", async () => {
    const secrets = new HeldCreates();
    const h = makeHarness({ secrets });
    h.controller.upsertPod(managedPod('web-0'));
    h.clock.advance(30); // waiting for a worker
    const drained = h.controller.drain();
    await turns();
    expect(secrets.inFlight).toBe(1);
    h.clock.advance(100); // the create on the wire
    secrets.release();
    await drained;
    const line = h.log.lines.find((l) => l.msg === 'certificate issued');
    expect(line?.fields.timings).toEqual({
      queuedMs: 30,
      issueMs: 0,
      throttleMs: 0,
      createMs: 100,
      totalMs: 130,
    });
  });

  it('resolves every drain only once the last worker has stopped', async () => {
    const secrets = new HeldCreates();
    const h = makeHarness({ secrets });
    h.controller.upsertPod(managedPod('web-0'));
    const first = h.controller.drain();
    await turns();
    h.controller.upsertPod(managedPod('web-1'));
    const second = h.controller.drain();
    let settled = 0;
    void first.then(() => (settled += 1));
    void second.then(() => (settled += 1));
    await turns();
    expect(settled).toBe(0);
    secrets.release();
    await Promise.all([first, second]);
    expect(secrets.objects.size).toBe(2);
    expect(h.controller.stats().queueDepth).toBe(0);
  });

  it("writes a new pod's first Secret before queued renewals", async () => {
    const h = makeHarness();
    for (let i = 0; i < 20; i++) h.controller.upsertPod(managedPod(`old-${i}`));
    await h.settle();
    const before = h.secrets.calls.length;
    // Every Secret is due (a trust change), then a new pod arrives behind them.
    h.setCa(caMaterial(makeCa(h.clock), h.clock));
    h.controller.upsertPod(managedPod('new-0'));
    await h.settle();
    const writes = h.secrets.calls.slice(before).filter((c) => c.op === 'create' || c.op === 'replace');
    expect(writes.length).toBe(21);
    expect(writes[0]).toMatchObject({ op: 'create', name: 'new-0-mtls' });
  });
});
