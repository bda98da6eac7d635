import { describe, expect, it } from 'vitest';
import { checkCa } from '../../src/check/ca.js';
import {
  checkEndpoints,
  checkServingCertificate,
  checkWebhookConfiguration,
} from '../../src/check/cluster.js';
import type { SecretObject } from '../../src/kube/types.js';
import { encodeFiles } from '../../src/model/secret-data.js';
import { caSecret, DAY, NOW, rootCa, servingSecret, webhookConfiguration } from './fixtures.js';

const ca = rootCa({ now: new Date(NOW.getTime() - 10 * DAY * 1000) });
const otherCa = rootCa();
const where = 'mtls-injector/mtls-injector-webhook-tls';

describe('checkWebhookConfiguration', () => {
  it('passes with the three entries routed to their paths', () => {
    const results = checkWebhookConfiguration('mtls-injector', webhookConfiguration(ca.certPem));
    expect(results.map((r) => [r.name, r.ok, r.reason])).toEqual([
      ['webhook-configuration', true, 'webhook_configuration_found'],
      ['webhook-entries', true, 'webhook_entries_ok'],
    ]);
    expect(results[1]?.message).toContain('Service mtls-injector/mtls-injector-webhook');
  });

  it('fails when the configuration is missing, with how to install it', () => {
    const [result] = checkWebhookConfiguration('mtls-injector', undefined);
    expect(result).toMatchObject({ ok: false, severity: 'error', reason: 'webhook_configuration_missing' });
    expect(result?.hint).toContain('helm install');
  });

  it('names missing and misrouted entries', () => {
    const config = webhookConfiguration(ca.certPem);
    const broken = {
      ...config,
      webhooks: config.webhooks
        .filter((w) => w.name !== 'pod.mtls-injector.io')
        .map((w) =>
          w.name === 'strict.mtls-injector.io' && w.service
            ? { ...w, service: { ...w.service, path: '/mutate' } }
            : w,
        ),
    };
    const result = checkWebhookConfiguration('mtls-injector', broken)[1];
    expect(result).toMatchObject({ ok: false, reason: 'webhook_entries_wrong' });
    expect(result?.message).toContain('entry pod.mtls-injector.io is missing');
    expect(result?.message).toContain(
      'entry strict.mtls-injector.io calls path /mutate; expected /mutate/strict',
    );
  });

  it('accepts URL entries (a webhook outside the cluster)', () => {
    const result = checkWebhookConfiguration(
      'mtls-injector',
      webhookConfiguration(ca.certPem, 'https://localhost:8443'),
    )[1];
    expect(result).toMatchObject({ ok: true, reason: 'webhook_entries_ok' });
  });
});

describe('checkServingCertificate', () => {
  it('passes when every caBundle holds the CA that issued a valid serving certificate for the Service', () => {
    const results = checkServingCertificate(webhookConfiguration(ca.certPem), servingSecret(ca), where, NOW);
    expect(results.map((r) => [r.name, r.ok, r.reason])).toEqual([
      ['webhook-ca-bundle', true, 'ca_bundle_matches'],
      ['webhook-serving-cert', true, 'serving_cert_valid'],
    ]);
  });

  it('fails when the caBundle holds another CA', () => {
    const [bundle] = checkServingCertificate(
      webhookConfiguration(otherCa.certPem),
      servingSecret(ca),
      where,
      NOW,
    );
    expect(bundle).toMatchObject({ ok: false, severity: 'error', reason: 'ca_bundle_mismatch' });
    expect(bundle?.message).toContain('does not hold the serving certificate');
  });

  it('fails when the caBundle is empty', () => {
    const config = webhookConfiguration(ca.certPem);
    const empty = { ...config, webhooks: config.webhooks.map((w) => ({ ...w, caBundle: '' })) };
    const [bundle] = checkServingCertificate(empty, servingSecret(ca), where, NOW);
    expect(bundle).toMatchObject({ ok: false, reason: 'ca_bundle_mismatch' });
    expect(bundle?.message).toContain('have no caBundle');
  });

  it('fails when the serving Secret is missing', () => {
    const [result] = checkServingCertificate(webhookConfiguration(ca.certPem), undefined, where, NOW);
    expect(result).toMatchObject({ name: 'webhook-serving-cert', reason: 'serving_secret_missing' });
  });

  it('fails when the serving certificate expired', () => {
    const old = servingSecret(ca, undefined, { now: new Date(NOW.getTime() - 3 * DAY * 1000) });
    const result = checkServingCertificate(webhookConfiguration(ca.certPem), old, where, NOW)[1];
    expect(result).toMatchObject({ ok: false, reason: 'serving_cert_expired' });
  });

  it('fails when the serving certificate does not name the host the API server calls', () => {
    const result = checkServingCertificate(
      webhookConfiguration(ca.certPem),
      servingSecret(ca, ['elsewhere.example']),
      where,
      NOW,
    )[1];
    expect(result).toMatchObject({ ok: false, reason: 'serving_cert_wrong_identity' });
    expect(result?.message).toContain('mtls-injector-webhook.mtls-injector.svc');
  });

  it('checks the URL host for URL entries', () => {
    const config = webhookConfiguration(ca.certPem, 'https://localhost:8443');
    expect(checkServingCertificate(config, servingSecret(ca, ['localhost']), where, NOW)[1]?.ok).toBe(true);
  });

  it('fails when tls.key does not match', () => {
    const good = servingSecret(ca);
    const other = servingSecret(ca);
    const mixed: SecretObject = { ...good, data: { ...good.data, 'tls.key': other.data?.['tls.key'] ?? '' } };
    const result = checkServingCertificate(webhookConfiguration(ca.certPem), mixed, where, NOW)[1];
    expect(result).toMatchObject({ ok: false, reason: 'serving_cert_key_mismatch' });
  });
});

describe('checkEndpoints', () => {
  const config = webhookConfiguration(ca.certPem);
  const service = { metadata: { name: 'mtls-injector-webhook', namespace: 'mtls-injector' } };

  it('passes with ready endpoints', () => {
    const result = checkEndpoints(config, service, { ready: 2, notReady: 1, source: 'EndpointSlice' });
    expect(result).toMatchObject({ ok: true, reason: 'endpoints_ready' });
    expect(result.message).toBe(
      'Service mtls-injector/mtls-injector-webhook has 2 ready endpoint(s) and 1 not ready (EndpointSlice)',
    );
  });

  it('fails without ready endpoints, and without the Service', () => {
    expect(checkEndpoints(config, service, { ready: 0, notReady: 2, source: 'Endpoints' })).toMatchObject({
      ok: false,
      severity: 'error',
      reason: 'no_ready_endpoints',
    });
    expect(checkEndpoints(config, undefined, undefined)).toMatchObject({
      ok: false,
      reason: 'service_missing',
    });
  });

  it('has nothing to check for URL entries', () => {
    expect(
      checkEndpoints(webhookConfiguration(ca.certPem, 'https://localhost:8443'), undefined, undefined),
    ).toMatchObject({
      ok: true,
      reason: 'webhook_url',
    });
  });
});

describe('checkCa', () => {
  const where = 'mtls-injector/mtls-injector-ca';

  it('passes for a CA valid at least 60 more days', () => {
    const result = checkCa(caSecret(ca), where, NOW);
    expect(result).toMatchObject({ ok: true, reason: 'ca_valid' });
    expect(result.message).toMatch(/valid until 2036-.* \(3640d left\)/);
  });

  it('warns below 60 days', () => {
    const result = checkCa(caSecret(rootCa({ days: 30 })), where, NOW);
    expect(result).toMatchObject({ ok: false, severity: 'warning', reason: 'ca_expiring_soon' });
    expect(result.hint).toContain('ca rotate prepare');
  });

  it('fails once expired', () => {
    const expired = rootCa({ now: new Date(NOW.getTime() - 10 * DAY * 1000), days: 5 });
    const result = checkCa(caSecret(expired), where, NOW);
    expect(result).toMatchObject({ ok: false, severity: 'error', reason: 'ca_expired' });
    expect(result.message).toContain(where);
  });

  it('fails when missing or unusable', () => {
    expect(checkCa(undefined, where, NOW)).toMatchObject({ ok: false, reason: 'ca_missing' });
    const mismatched = caSecret(ca);
    const broken: SecretObject = {
      ...mismatched,
      data: { ...mismatched.data, ...encodeFiles({ 'tls.key': otherCa.keyPem }) },
    };
    expect(checkCa(broken, where, NOW)).toMatchObject({ ok: false, reason: 'ca_invalid' });
  });

  it('honours another minimum', () => {
    expect(checkCa(caSecret(rootCa({ days: 30 })), where, NOW, 7)).toMatchObject({ ok: true });
  });
});
