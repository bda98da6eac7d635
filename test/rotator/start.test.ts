/**
 * The assembled rotator (startRotator) over in-memory APIs and watches, with a fake clock driving every loop:
 * CA re-read, leader election, the controller's wake-ups and the drift report. The probe server is real HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OPT_IN_LABEL } from '../../src/core/names.js';
import { newCaSecret } from '../../src/model/ca-secret.js';
import { settleMicrotasks } from '../fakes/clock.js';
import { storedPod } from '../fakes/workloads.js';
import { makeCa, managedPod } from './harness.js';
import { get, namespace, running, stopAll, world } from './world.js';

afterEach(stopAll);

describe('startRotator', () => {
  it('generates the CA, leads, issues the webhook serving certificate and sets the caBundle', async () => {
    const w = world();
    const rotator = await w.start();
    expect(w.secrets.objects.has('mtls-injector/mtls-injector-ca')).toBe(true);
    expect(rotator.isLeader()).toBe(true);
    expect(w.leases.lease?.spec?.holderIdentity).toBe('rotator-a');
    expect(w.secrets.objects.has('mtls-injector/mtls-injector-webhook-tls')).toBe(true);
    expect(w.webhookConfig.caBundles.every((b) => b !== '')).toBe(true);
    expect(rotator.readiness()).toEqual({ ready: true });
    expect(w.log.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['rotator starting', 'CA loaded', 'became leader']),
    );
  });

  it('issues a Secret for a managed pod from the watch, and renews it when the clock reaches its time', async () => {
    const w = world();
    await w.start();
    w.cluster.pods.put(managedPod('web-0'));
    await settleMicrotasks();
    await w.clock.tick(2_000); // the leader's first CRL, copied into the Secret as ca.crl
    const first = w.secrets.objects.get('shop/web-0-mtls');
    expect(first?.metadata.ownerReferences?.[0]?.name).toBe('web-0');
    expect(Buffer.from(first?.data?.['ca.crl'] ?? '', 'base64').toString()).toBe(
      w.configMaps.objects.get('mtls-injector/mtls-injector-crl')?.data?.['ca.crl'],
    );
    expect(w.events.reasons()).toContain('CertificateIssued');

    // 1 h lifetime, renewal at 50 % ± 10 %: nothing at 20 min, renewed by 40 min, on the runner's own timer.
    await w.clock.tick(20 * 60_000);
    expect(w.secrets.objects.get('shop/web-0-mtls')?.data).toEqual(first?.data);
    await w.clock.tick(20 * 60_000);
    expect(w.secrets.objects.get('shop/web-0-mtls')?.data?.['tls.crt']).not.toEqual(first?.data?.['tls.crt']);
    expect(w.events.reasons()).toContain('CertificateRenewed');
  });

  it('is not ready while a watch re-lists, nor while a bring-your-own CA is missing; ready once both are there', async () => {
    const w = world({ 'ca.bringYourOwn': 'true' });
    const rotator = await w.start();
    const notReady = rotator.readiness();
    expect(notReady.ready).toBe(false);
    expect(!notReady.ready && notReady.reason).toMatch(/CA Secret mtls-injector\/mtls-injector-ca not found/);
    expect((await get(rotator.probePort, '/readyz')).status).toBe(503);
    expect((await get(rotator.probePort, '/healthz')).status).toBe(200);

    // The operator creates the CA Secret; the next re-read (every 10 s) loads it and issuing starts.
    w.cluster.pods.put(managedPod('web-0'));
    await settleMicrotasks();
    expect(w.secrets.objects.has('shop/web-0-mtls')).toBe(false);
    const ca = makeCa(w.clock);
    w.secrets.put(newCaSecret(ca, 'mtls-injector', 'mtls-injector-ca', new Date(w.clock.now)));
    await w.clock.tick(10_000);
    expect(rotator.readiness()).toEqual({ ready: true });
    expect(w.secrets.objects.has('shop/web-0-mtls')).toBe(true);

    w.cluster.services.fail(new Error('watch closed'));
    expect(rotator.readiness()).toEqual({ ready: false, reason: 'watches not synced: services' });
    expect((await get(rotator.probePort, '/readyz')).text).toBe('not ready: watches not synced: services\n');
    w.cluster.services.resync();
    expect(rotator.readiness()).toEqual({ ready: true });
  });

  it('writes nothing as a follower, takes over when the leader stops, and serves the leader gauge', async () => {
    const w = world();
    const leader = await w.start('rotator-a');
    const follower = await w.start('rotator-b');
    expect(leader.isLeader()).toBe(true);
    expect(follower.isLeader()).toBe(false);
    expect(await get(follower.probePort, '/metrics')).toMatchObject({
      text: expect.stringMatching(/^mtls_injector_rotator_leader 0$/m) as unknown,
    });

    await leader.stop();
    running.splice(running.indexOf(leader), 1);
    expect(w.leases.lease?.spec?.holderIdentity).toBe('');
    await w.clock.tick(2_000); // one retry period
    expect(follower.isLeader()).toBe(true);
    w.cluster.pods.put(managedPod('web-1'));
    await settleMicrotasks();
    expect(w.secrets.objects.has('shop/web-1-mtls')).toBe(true);
    expect((await get(follower.probePort, '/metrics')).text).toMatch(/^mtls_injector_rotator_leader 1$/m);
  });

  it('reports drift 30 s after leading and every 2 min; an opted-in namespace is reported in 10 s and queued for onboarding', async () => {
    const w = world();
    w.workloads.pods = [storedPod('legacy', { namespace: 'shop' })];
    const rotator = await w.start();
    const driftReports = () => w.events.reasons().filter((r) => r === 'NotInjected').length;
    await w.clock.tick(29_000);
    expect(driftReports()).toBe(0);
    await w.clock.tick(1_000);
    expect(driftReports()).toBe(1);
    expect((await get(rotator.probePort, '/metrics')).text).toMatch(/^mtls_injector_drift_pods 1$/m);

    // A namespace gains the label: queued for onboarding at once, reported in 10 s instead of 2 min.
    w.cluster.namespaces.put(namespace('billing'));
    w.workloads.pods.push(storedPod('old', { namespace: 'billing' }));
    w.cluster.namespaces.put(namespace('billing', { [OPT_IN_LABEL]: 'enabled' }));
    expect(w.enqueued).toEqual(['billing']);
    await w.clock.tick(10_000);
    expect(w.events.events.filter((e) => e.reason === 'NotInjected').map((e) => e.target.namespace)).toEqual([
      'shop',
      'shop',
      'billing',
    ]);
    await w.clock.tick(120_000);
    expect(driftReports()).toBe(5);
  });

  it('stops every loop: no timer is left and no write happens after stop', async () => {
    const w = world();
    const rotator = await w.start();
    await rotator.stop();
    running.splice(0);
    expect(w.clock.timers).toBe(0);
    const writes = w.secrets.writes();
    w.cluster.pods.put(managedPod('late'));
    await w.clock.tick(300_000);
    expect(w.secrets.writes()).toBe(writes);
  });
});

describe('startRotator: watches tell the truth', () => {
  it('stays not ready and issues nothing while a watch cannot list, backing off; then catches up', async () => {
    const w = world();
    w.cluster.pods.put(managedPod('web-0'));
    w.cluster.namespaces.listFailures = 4;
    const rotator = await w.start('rotator-a', {
      watches: { namespaces: w.cluster.namespaces.listWatch(w.loopTime) },
    });
    // The namespace list failed: the rotator cannot tell which namespaces opted in.
    expect(rotator.readiness()).toEqual({ ready: false, reason: 'watches not synced: namespaces' });
    await w.clock.tick(5_000);
    expect(rotator.readiness().ready).toBe(false);
    expect(w.secrets.objects.has('shop/web-0-mtls')).toBe(false);
    // Backoff 1, 2, 4, 8 s (each between half and all of it): the fifth list, at 7.5–15 s, succeeds.
    await w.clock.tick(10_000);
    expect(w.log.lines.filter((l) => l.msg === 'watch failed; re-listing with backoff').length).toBe(4);
    expect(rotator.readiness()).toEqual({ ready: true });
    expect(w.secrets.objects.has('shop/web-0-mtls')).toBe(true);
  });
});
