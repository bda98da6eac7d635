import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runStep } from '../../src/cli/ca-rotate.js';
import { CA_FILE, CERT_FILE } from '../../src/core/names.js';
import type { SecretObject } from '../../src/kube/types.js';
import { verifyLeaf } from '../../src/pki/verify.js';
import { CaManager } from '../../src/rotator/ca-manager.js';
import { secretFile } from '../../src/model/secret-data.js';
import { staticLeadership } from '../fakes/leadership.js';
import { type Harness, makeHarness, managedPod } from './harness.js';

function output() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: '', err: '' };
  stdout.on('data', (c: Buffer) => (text.out += c.toString()));
  stderr.on('data', (c: Buffer) => (text.err += c.toString()));
  return { ctx: { stdout, stderr }, text };
}

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

/** A CA manager over the harness's API, leading, counting the harness's workload Secrets. */
function caManagerOf(h: Harness): CaManager {
  return new CaManager({
    config: h.config,
    secrets: h.secrets,
    clock: h.clock.read,
    leadership: staticLeadership(true),
    workloadSecrets: () => h.controller.stats().workloadSecrets,
  });
}

describe('CA rotation prepare → activate → retire', () => {
  it('keeps every pod able to verify every other pod at every step', async () => {
    const h = makeHarness({ flags: { 'ca.propagationDelay': '5m' } });
    const caManager = caManagerOf(h);
    const reload = async () => {
      if (await caManager.refresh()) h.setCa(caManager.current() ?? h.ca);
      await h.settle();
    };
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

    expect(await runStep('activate', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    expect(text.err).toContain('retry in 300s');
    h.clock.advance(5 * 60_000);
    expect(await runStep('activate', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(0);
    // Retire is refused while leaves still chain to the previous CA.
    expect(await runStep('retire', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    expect(text.err).toContain('still chain to the previous CA');
    await reload();
    expect(workloads().map((s) => secretFile(s, CERT_FILE))).not.toEqual(firstLeaves);
    expectMutualTrust(workloads(), h.clock.now);

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
