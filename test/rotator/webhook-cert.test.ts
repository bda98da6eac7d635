import { describe, expect, it } from 'vitest';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../../src/core/names.js';
import type { SecretObject } from '../../src/kube/types.js';
import { verifyLeaf } from '../../src/pki/verify.js';
import { mergeBundles } from '../../src/pki/bundle.js';
import { secretFile } from '../../src/model/secret-data.js';
import { Reporter } from '../../src/rotator/reporter.js';
import { SecretWriter } from '../../src/rotator/secret-writer.js';
import { createWebhookSync, webhookDnsNames } from '../../src/rotator/webhook-cert.js';
import { FakeWebhookConfig } from '../fakes/kube.js';
import { memoryLog } from '../fakes/log.js';
import { caMaterial, makeCa, makeHarness } from './harness.js';

function setup(flags: Record<string, string> = {}) {
  const h = makeHarness({ flags: { 'webhook.extraDnsNames': 'localhost', ...flags } });
  const webhookConfig = new FakeWebhookConfig();
  let due = false;
  const reporter = new Reporter({
    events: h.events,
    log: memoryLog(),
    counters: {
      issued: () => undefined,
      failed: () => undefined,
      foreign: () => undefined,
      collision: () => undefined,
    },
  });
  const writer = new SecretWriter({
    secrets: h.secrets,
    writeQps: 1000,
    writeBurst: 1000,
    clock: h.clock.read,
    sleep: h.clock.sleep,
    reporter,
    observer: { upsert: () => undefined, remove: () => undefined },
    leadership: { validUntil: () => Number.POSITIVE_INFINITY },
  });
  const step = createWebhookSync({
    config: h.config,
    secrets: h.secrets,
    webhookConfig,
    certs: h.certs,
    writer,
    reporter,
    clock: h.clock.read,
    isDue: () => due,
    leadership: { validUntil: () => Number.POSITIVE_INFINITY },
  });
  const secret = () => h.secrets.objects.get('mtls-injector/mtls-injector-webhook-tls') as SecretObject;
  return { h, webhookConfig, step, secret, setDue: (v: boolean) => (due = v) };
}

function serving(secret: SecretObject, bundle: string, now: number) {
  return verifyLeaf({
    certChainPem: secretFile(secret, CERT_FILE) ?? '',
    keyPem: secretFile(secret, KEY_FILE) ?? '',
    trustBundlePem: bundle,
    now: new Date(now),
    requireSpiffeId: false,
  });
}

describe('webhook serving certificate step', () => {
  it('issues the serving cert for the Service names and sets every caBundle to the trust bundle', async () => {
    const { h, webhookConfig, step, secret } = setup();
    await step();
    const result = serving(secret(), h.ca.bundlePem, h.clock.now);
    expect(result.problems).toEqual([]);
    expect([...(result.leaf?.dnsNames ?? [])].sort()).toEqual([...webhookDnsNames(h.config)].sort());
    // The API server calls <svc>.<ns>.svc; the short forms only with dnsShortNames (they fall outside
    // ca.nameConstraints and can be public names).
    expect(webhookDnsNames(h.config)).toEqual([
      'mtls-injector-webhook.mtls-injector.svc',
      'mtls-injector-webhook.mtls-injector.svc.cluster.local',
      'localhost',
    ]);
    expect(webhookDnsNames({ ...h.config, dnsShortNames: true }).slice(0, 2)).toEqual([
      'mtls-injector-webhook',
      'mtls-injector-webhook.mtls-injector',
    ]);
    const expected = Buffer.from(h.ca.bundlePem).toString('base64');
    expect(webhookConfig.caBundles).toEqual([expected, expected, expected]);
    const writes = h.secrets.writes();
    await step();
    expect(h.secrets.writes()).toBe(writes);
  });

  it('has the MutatingWebhookConfiguration own its Secret, so uninstalling the configuration deletes it', async () => {
    const { h, webhookConfig, step, secret } = setup();
    await step();
    const owner = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      name: 'mtls-injector',
      uid: 'mwc-uid-1',
    };
    expect(secret().metadata.ownerReferences).toEqual([owner]);
    // A Secret from before (no owner) gets the owner added, without a new certificate.
    const cert = secretFile(secret(), CERT_FILE);
    await h.secrets.replace({ ...secret(), metadata: { ...secret().metadata, ownerReferences: [] } });
    await step();
    expect(secret().metadata.ownerReferences).toEqual([owner]);
    expect(secretFile(secret(), CERT_FILE)).toBe(cert);
    // A re-created configuration (new uid) takes over; other owners are kept.
    webhookConfig.uid = 'mwc-uid-2';
    const other = { apiVersion: 'v1', kind: 'ConfigMap', name: 'keep', uid: 'cm-1' };
    await h.secrets.replace({
      ...secret(),
      metadata: { ...secret().metadata, ownerReferences: [other, owner] },
    });
    await step();
    expect(secret().metadata.ownerReferences).toEqual([other, { ...owner, uid: 'mwc-uid-2' }]);
    const writes = h.secrets.writes();
    await step();
    expect(h.secrets.writes()).toBe(writes);
  });

  it('keeps old and new roots in the caBundle during a rotation, then reissues from the new CA (H1)', async () => {
    const { h, webhookConfig, step, secret } = setup();
    await step();
    const first = secretFile(secret(), CERT_FILE);
    const next = caMaterial(makeCa(h.clock), h.clock);
    const both = mergeBundles(h.ca.bundlePem, next.active.certPem);
    h.ca = { ...h.ca, bundlePem: both };
    await step();
    expect(secretFile(secret(), CERT_FILE)).toBe(first);
    expect(secretFile(secret(), CA_FILE)).toBe(both);
    expect(Buffer.from(webhookConfig.caBundles[0] ?? '', 'base64').toString()).toBe(both);
    h.ca = { ...next, bundlePem: both };
    await step();
    expect(secretFile(secret(), CERT_FILE)).not.toBe(first);
    expect(serving(secret(), next.active.certPem, h.clock.now).problems).toEqual([]);
  });

  it('waits for a missing webhook configuration without failing, and creates no Secret it would not own', async () => {
    const { h, webhookConfig, step, secret, setDue } = setup();
    webhookConfig.exists = false;
    await step();
    expect(h.secrets.objects.has('mtls-injector/mtls-injector-webhook-tls')).toBe(false);
    webhookConfig.exists = true;
    await step();
    expect(h.secrets.objects.has('mtls-injector/mtls-injector-webhook-tls')).toBe(true);
    const first = secretFile(secret(), CERT_FILE);
    expect(first).toBeDefined();
    expect(webhookConfig.caBundles[0]).toBe(Buffer.from(h.ca.bundlePem).toString('base64'));
    // The configuration deleted (uninstall's pre-delete hook): an existing Secret is still renewed when due,
    // and once the garbage collector has deleted it, none is made again.
    webhookConfig.exists = false;
    setDue(true);
    await step();
    expect(secretFile(secret(), CERT_FILE)).not.toBe(first);
    h.secrets.objects.delete('mtls-injector/mtls-injector-webhook-tls');
    await step();
    expect(h.secrets.objects.has('mtls-injector/mtls-injector-webhook-tls')).toBe(false);
  });
});
