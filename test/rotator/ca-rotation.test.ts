import { describe, expect, it } from 'vitest';
import { runStep } from '../../src/cli/ca-rotate.js';
import { CA_FILE, CERT_FILE } from '../../src/core/names.js';
import type { SecretObject } from '../../src/kube/types.js';
import { verifyLeaf } from '../../src/pki/verify.js';
import { PROPAGATION_ANNOTATION } from '../../src/model/ca-secret.js';
import { secretFile } from '../../src/model/secret-data.js';
import { makeHarness, managedPod } from './harness.js';
import { caManagerOf, output, rotating } from './rotation-helpers.js';

/** Every workload's leaf verifies against every workload's ca.crt: any pod can talk to any other. */
function expectMutualTrust(workloads: readonly SecretObject[], now: number): void {
  for (const server of workloads) {
    for (const client of workloads) {
      const result = verifyLeaf({
        certChainPem: secretFile(server, CERT_FILE) ?? '',
        trustBundlePem: secretFile(client, CA_FILE) ?? '',
        now: new Date(now),
      });
      expect(result.problems, `${server.metadata.name} as seen by ${client.metadata.name}`).toEqual([]);
    }
  }
}

describe('CA rotation prepare → activate → retire', () => {
  it('keeps every pod able to verify every other pod at every step', async () => {
    const h = makeHarness({ flags: { 'ca.propagationDelay': '5m' } });
    const { caManager, reload } = rotating(h);
    await reload();
    for (const name of ['a', 'b', 'c']) h.controller.upsertPod(managedPod(name));
    await h.settle();
    const workloads = () =>
      ['a', 'b', 'c'].map((n) => h.secrets.objects.get(`shop/${n}-mtls`) as SecretObject);
    expectMutualTrust(workloads(), h.clock.now);
    const firstLeaves = workloads().map((s) => secretFile(s, CERT_FILE));

    const { ctx, text } = output();
    expect(await runStep('prepare', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(0);
    expect(await runStep('activate', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    expect(text.err).toMatch(/do not trust the new root yet|needs 300s/);
    await reload();
    // Prepared: leaves unchanged, every bundle holds both roots.
    expect(workloads().map((s) => secretFile(s, CERT_FILE))).toEqual(firstLeaves);
    expectMutualTrust(workloads(), h.clock.now);

    // Every Secret trusts the new root now: the first attempt starts the kubelets' delivery wait, counted
    // from this moment (not from prepare: the rotator may have taken long to copy the bundle everywhere).
    const caWrites = () => h.secrets.calls.filter((c) => c.op === 'replace').length;
    let writes = caWrites();
    h.clock.advance(10 * 60_000);
    expect(await runStep('activate', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    expect(text.err).toContain("at the kubelet's next sync of each pod");
    expect(text.err).toContain('retry in 300s');
    expect(caWrites()).toBe(writes + 1); // the mark
    writes = caWrites();
    h.clock.advance(299_000);
    expect(await runStep('activate', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    expect(text.err).toContain('retry in 1s');
    expect(caWrites()).toBe(writes); // waiting writes nothing
    // The mark alone changes nothing the rotator uses: no reload, no resync.
    expect(await caManager.refresh()).toBe(false);
    h.clock.advance(1000);
    expect(await runStep('activate', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(0);
    // Retire is refused while leaves still chain to the previous CA.
    expect(await runStep('retire', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    expect(text.err).toContain('still chain to the previous CA');
    await reload();
    expect(workloads().map((s) => secretFile(s, CERT_FILE))).not.toEqual(firstLeaves);
    expectMutualTrust(workloads(), h.clock.now);

    // Every leaf is from the new CA: the running pods get them at the kubelet's next sync, so retire waits
    // ca.propagationDelay from here (a pod still presenting an old leaf would be refused by its peers).
    text.err = '';
    expect(await runStep('retire', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    expect(text.err).toMatch(/holds a leaf from the new CA, but .*retry in 300s/);
    expect(await runStep('status', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(0);
    expect(text.out).toContain('managed certificates not from the previous CA: 3/3');
    expect(text.out).toContain('retire    may run in 300s');
    expect(text.out).toContain('next: mtls-injector ca rotate retire in 300s');
    h.clock.advance(300_000);
    expect(await runStep('retire', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(0);
    await reload();
    expectMutualTrust(workloads(), h.clock.now);
    // The old root is gone from every bundle: the first leaves no longer verify anywhere.
    for (const client of workloads()) {
      const old = verifyLeaf({
        certChainPem: firstLeaves[0] ?? '',
        trustBundlePem: secretFile(client, CA_FILE) ?? '',
        now: new Date(h.clock.now),
      });
      expect(old.ok).toBe(false);
    }
    expect(text.out).toContain('ca rotate retire: done');
    const caSecret = h.secrets.objects.get('mtls-injector/mtls-injector-ca') as SecretObject;
    expect(caSecret.metadata.annotations?.[PROPAGATION_ANNOTATION]).toBeUndefined();
  });

  it('starts the delivery wait again when a Secret falls behind after it began', async () => {
    const h = makeHarness({ flags: { 'ca.propagationDelay': '2m' } });
    const { reload } = rotating(h);
    await reload();
    h.controller.upsertPod(managedPod('a'));
    await h.settle();
    const { ctx, text } = output();
    expect(await runStep('prepare', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(0);
    await reload();
    expect(await runStep('activate', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    const caKey = 'mtls-injector/mtls-injector-ca';
    const marked = () =>
      (h.secrets.objects.get(caKey) as SecretObject).metadata.annotations?.[PROPAGATION_ANNOTATION];
    expect(marked()).toMatch(/^activate /);
    // Someone puts an old bundle back into a's Secret: the wait so far says nothing about it.
    const a = h.secrets.objects.get('shop/a-mtls') as SecretObject;
    const oldBundle = Buffer.from(secretFile(a, CA_FILE) ?? '')
      .toString()
      .split(/(?=-----BEGIN CERTIFICATE-----)/)[0];
    await h.secrets.replace({
      ...a,
      data: { ...a.data, [CA_FILE]: Buffer.from(oldBundle ?? '').toString('base64') },
    });
    h.clock.advance(120_000);
    expect(await runStep('activate', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    expect(text.err).toContain('do not trust the new root yet');
    expect(marked()).toBeUndefined();
  });

  it('refuses activate without prepare, retire without activate, and a second prepare', async () => {
    const h = makeHarness();
    const caManager = caManagerOf(h);
    await caManager.refresh();
    const { ctx, text } = output();
    const now = new Date(h.clock.now);
    expect(await runStep('activate', h.config, h.secrets, ctx, now)).toBe(1);
    expect(await runStep('retire', h.config, h.secrets, ctx, now)).toBe(1);
    expect(await runStep('prepare', h.config, h.secrets, ctx, now)).toBe(0);
    expect(await runStep('prepare', h.config, h.secrets, ctx, now)).toBe(1);
    expect(text.err).toContain('no rotation is prepared');
    expect(text.err).toContain('nothing to retire');
    expect(text.err).toContain('already prepared');
    expect(await runStep('status', h.config, h.secrets, ctx, now)).toBe(0);
    expect(text.out).toContain('phase: prepared');
  });
});

describe('CaManager', () => {
  it('generates one CA even when two replicas race (E1, 409 re-read)', async () => {
    const h = makeHarness();
    const a = caManagerOf(h);
    const b = caManagerOf(h);
    await Promise.all([a.refresh(), b.refresh()]);
    expect(a.current()?.active.certPem).toBe(b.current()?.active.certPem);
    expect(h.secrets.calls.filter((c) => c.op === 'create').length).toBeGreaterThanOrEqual(1);
  });

  it('is not ready with a message when bring-your-own is set and the Secret is missing', async () => {
    const h = makeHarness({ flags: { 'ca.bringYourOwn': 'true' } });
    const m = caManagerOf(h);
    await expect(m.refresh()).rejects.toThrow(/not found and ca.bringYourOwn is set/);
    expect(m.notReadyReason()).toContain('create it with tls.crt');
    expect(h.secrets.writes()).toBe(0);
  });

  it('refuses an expired CA and keeps saying why (E2)', async () => {
    const h = makeHarness({ flags: { 'ca.lifetime': '1d' } });
    const m = caManagerOf(h);
    await m.refresh();
    h.clock.advance(2 * 86_400_000);
    const fresh = caManagerOf(h);
    await expect(fresh.refresh()).rejects.toMatchObject({ code: 'MTLS_ERR_PKI_CA_EXPIRED' });
    expect(fresh.current()).toBeUndefined();
    expect(fresh.notReadyReason()).toContain('CA Secret mtls-injector/mtls-injector-ca');
  });
});
