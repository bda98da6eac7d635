import { describe, expect, it } from 'vitest';
import { checkPod, type PodCheckInput } from '../../src/check/pod.js';
import { settingsFromPod } from '../../src/check/pod-settings.js';
import type { SecretLookup } from '../../src/check/pod-secret.js';
import type { PodObject, SecretObject } from '../../src/kube/types.js';
import { encodeFiles } from '../../src/model/secret-data.js';
import { DAY, excluded, injectedPod, NOW, plainPod, rootCa, settings, workloadSecret } from './fixtures.js';

const ca = rootCa({ now: new Date(NOW.getTime() - 10 * DAY * 1000) });
const enabled = { 'mtls-injection': 'enabled' };

function run(pod: PodObject, overrides: Partial<PodCheckInput> = {}) {
  return checkPod({
    pod,
    namespace: pod.metadata.namespace ?? 'shop',
    namespaceLabels: enabled,
    settings,
    excludedNamespaces: excluded,
    secret: { kind: 'unread' },
    clusterBundlePem: ca.trustBundlePem,
    revocations: [],
    now: NOW,
    ...overrides,
  });
}

function found(secret: SecretObject): SecretLookup {
  return { kind: 'found', secret };
}

function byName(report: ReturnType<typeof checkPod>) {
  return Object.fromEntries(report.checks.map((c) => [c.name, c]));
}

describe('checkPod: why a pod was or was not injected (the webhook reason codes)', () => {
  it('a healthy injected pod: already_injected, and every certificate check passes', () => {
    const pod = injectedPod('web-0');
    const report = run(pod, { secret: found(workloadSecret(ca, pod)) });
    expect(report.checks.map((c) => [c.name, c.ok, c.reason])).toEqual([
      ['injection', true, 'already_injected'],
      ['secret', true, 'secret_ok'],
      ['certificate-validity', true, 'certificate_valid'],
      ['certificate-chain', true, 'certificate_chained'],
      ['certificate-identity', true, 'identity_matches'],
      ['certificate-key', true, 'key_matches'],
      ['certificate-expiry', true, 'expires_in'],
      ['certificate-revocation', true, 'not_revoked'],
      ['crl', true, 'no_crl_needed'],
      ['trust-bundle', true, 'bundle_current'],
    ]);
    expect(report).toMatchObject({
      injected: true,
      owner: { kind: 'StatefulSet', name: 'web' },
      webhook: { selected: true, entry: 'enabled', decision: 'skip', reason: 'already_injected' },
      secretName: 'web-0-mtls',
      expectedSpiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
      certificate: { spiffeId: 'spiffe://cluster.local/ns/shop/sa/web', expiresInSeconds: 86_400 },
    });
  });

  it('judges an injected pod by its own mtls-init image, not the check defaults', () => {
    const pod = injectedPod('web-0');
    const other = { ...settings, initImage: 'example.com/other:9', initWaitTimeoutSeconds: 5 };
    expect(settingsFromPod(pod, other)).toMatchObject({
      initImage: settings.initImage,
      initWaitTimeoutSeconds: 120,
    });
    expect(byName(run(pod, { settings: other }))['injection']?.reason).toBe('already_injected');
  });

  it('judges a pod injected without mtls-init (init.enabled=false) as complete under either setting', () => {
    const pod = injectedPod('web-0', {}, { ...settings, initEnabled: false });
    expect(pod.spec?.['initContainers']).toBeUndefined();
    expect(settingsFromPod(pod, settings).initEnabled).toBe(false);
    for (const configured of [settings, { ...settings, initEnabled: false }]) {
      const report = run(pod, { settings: configured, secret: found(workloadSecret(ca, pod)) });
      expect(report.checks.every((c) => c.ok)).toBe(true);
      expect(byName(report)['injection']?.reason).toBe('already_injected');
    }
  });

  it('judges a pod missing the mtls-init its status names by the configured settings', () => {
    const pod = injectedPod('web-0', {}, { ...settings, initEnabled: false });
    const annotations = { ...pod.metadata.annotations };
    const status = JSON.parse(annotations['mtls-injector.io/status'] ?? '{}') as Record<string, unknown>;
    annotations['mtls-injector.io/status'] = JSON.stringify({ ...status, initContainer: 'mtls-init' });
    const claimed = { ...pod, metadata: { ...pod.metadata, annotations } };
    expect(settingsFromPod(claimed, settings).initEnabled).toBe(true);
    expect(byName(run(claimed))['injection']?.ok).toBe(false);
  });

  it('a pod that predates the opt-in: not_onboarded (the webhook would inject it: injected), with the onboard hint', () => {
    const report = run(plainPod('old'));
    const injection = byName(report)['injection'];
    expect(injection).toMatchObject({ ok: false, severity: 'warning', reason: 'not_onboarded' });
    expect(injection?.hint).toContain('mtls-injector onboard -n shop');
    expect(report.webhook).toMatchObject({ selected: true, decision: 'inject', reason: 'injected' });
    expect(report.checks).toHaveLength(1);
  });

  it('the same pod in a strict namespace is an error', () => {
    const report = run(plainPod('old'), { namespaceLabels: { 'mtls-injection': 'strict' } });
    expect(byName(report)['injection']).toMatchObject({ severity: 'error', reason: 'not_onboarded' });
  });

  it('an opted-out pod: opted_out, with the annotation to remove', () => {
    const report = run(plainPod('out', { annotations: { 'mtls-injector.io/inject': 'false' } }));
    expect(byName(report)['injection']).toMatchObject({
      ok: false,
      severity: 'warning',
      reason: 'opted_out',
    });
    expect(byName(report)['injection']?.hint).toContain('mtls-injector.io/inject');
    expect(report.webhook.reason).toBe('opted_out');
  });

  it('an opted-out pod in a strict namespace: opt_out_denied, an error', () => {
    const report = run(plainPod('out', { annotations: { 'mtls-injector.io/inject': 'false' } }), {
      namespaceLabels: { 'mtls-injection': 'strict' },
    });
    expect(byName(report)['injection']).toMatchObject({ severity: 'error', reason: 'opt_out_denied' });
  });

  it('a pod without a service account: service_account_missing', () => {
    const pod = plainPod('nosa');
    const report = run({ ...pod, spec: { ...pod.spec, serviceAccountName: '' } });
    expect(byName(report)['injection']?.reason).toBe('service_account_missing');
  });

  it('a pod the webhook never sees: not_selected, which is fine', () => {
    const report = run(plainPod('p'), { namespaceLabels: {} });
    expect(byName(report)['injection']).toMatchObject({ ok: true, reason: 'not_selected' });
    expect(report.webhook).toEqual({
      selected: false,
      entry: null,
      decision: null,
      reason: null,
      message: null,
    });
  });

  it('a pod that opts in itself in an unlabelled namespace goes through the pod entry', () => {
    const report = run(plainPod('p', { labels: { 'mtls-injection': 'enabled' } }), { namespaceLabels: {} });
    expect(report.webhook).toMatchObject({ selected: true, entry: 'pod', reason: 'injected' });
  });

  it('a pod in an excluded namespace: excluded_namespace', () => {
    const report = run(plainPod('p', { namespace: 'kube-system' }));
    expect(byName(report)['injection']).toMatchObject({ ok: true, reason: 'excluded_namespace' });
  });

  it('an injected pod in a namespace that lost the label: lost_opt_in (G5), certificate still checked', () => {
    const pod = injectedPod('web-0');
    const report = run(pod, { namespaceLabels: {}, secret: found(workloadSecret(ca, pod)) });
    expect(byName(report)['injection']).toMatchObject({
      ok: false,
      severity: 'warning',
      reason: 'lost_opt_in',
    });
    expect(byName(report)['certificate-validity']?.ok).toBe(true);
  });

  it('an injected pod whose structure was partly removed: reinjected', () => {
    const pod = injectedPod('web-0');
    const spec = pod.spec as { volumes?: unknown[] };
    const broken = { ...pod, spec: { ...pod.spec, volumes: [] as unknown[] } };
    expect(spec.volumes).toHaveLength(1);
    const injection = byName(run(broken))['injection'];
    expect(injection).toMatchObject({ ok: false, reason: 'reinjected' });
    expect(injection?.message).toContain('/spec/volumes');
  });
});

describe('checkPod: the Secret and its certificate', () => {
  const pod = injectedPod('web-0');

  it('names a deleted Secret', () => {
    const report = run(pod, { secret: { kind: 'missing' } });
    expect(byName(report)['secret']).toMatchObject({
      ok: false,
      severity: 'error',
      reason: 'secret_missing',
    });
    expect(byName(report)['secret']?.message).toBe(
      'Secret shop/web-0-mtls not found; the pod cannot start (its certificate volume cannot be mounted)',
    );
    expect(report.certificate).toBeNull();
  });

  it('a Secret owned by another pod that is gone, and one that is not ours', () => {
    expect(
      byName(run(pod, { secret: found(workloadSecret(ca, pod, { ownerUid: 'other' })) }))['secret']?.reason,
    ).toBe('secret_not_owned');
    const foreign = workloadSecret(ca, pod);
    const unlabelled = { ...foreign, metadata: { ...foreign.metadata, labels: {} } };
    expect(byName(run(pod, { secret: found(unlabelled) }))['secret']?.reason).toBe('secret_not_managed');
  });

  it('a Secret owned by another pod that still exists: a collision, with what to do', () => {
    const owner = injectedPod('web-1');
    const theirs = workloadSecret(ca, owner, { ownerUid: owner.metadata.uid ?? '' });
    const mine = { ...theirs, metadata: { ...theirs.metadata, name: 'web-0-mtls' } };
    const report = run(pod, {
      secret: found(mine),
      podExists: (uid) => uid === owner.metadata.uid || uid === pod.metadata.uid,
    });
    expect(byName(report)['secret']).toMatchObject({
      ok: false,
      severity: 'error',
      reason: 'secret_collision',
    });
    expect(byName(report)['secret']?.message).toContain('belongs to pod web-1');
    expect(byName(report)['secret']?.hint).toContain('delete this pod');
  });

  it('reads the Secret from the mtls-certs volume, not from the annotation', () => {
    const annotations = { ...(pod.metadata.annotations ?? {}), 'mtls-injector.io/secret': 'payments-0-mtls' };
    const report = run({ ...pod, metadata: { ...pod.metadata, annotations } });
    expect(report.secretName).toBe('web-0-mtls');
    const spec = { ...pod.spec, volumes: [] };
    const noVolume = run({ ...pod, spec });
    expect(byName(noVolume)['secret']?.reason).toBe('secret_volume_missing');
  });

  it('an expired certificate', () => {
    const old = workloadSecret(ca, pod, { now: new Date(NOW.getTime() - 2 * DAY * 1000) });
    const report = run(pod, { secret: found(old) });
    expect(byName(report)['certificate-validity']).toMatchObject({ ok: false, reason: 'expired' });
    expect(byName(report)['certificate-expiry']).toBeUndefined();
    expect(report.certificate?.expiresInSeconds).toBeLessThan(0);
  });

  it('a certificate for another service account', () => {
    const report = run(pod, { secret: found(workloadSecret(ca, pod, { serviceAccount: 'admin' })) });
    expect(byName(report)['certificate-identity']).toMatchObject({ ok: false, reason: 'wrong_identity' });
    expect(byName(report)['certificate-identity']?.hint).toContain('--trust-domain');
  });

  it('a certificate from a CA the Secret does not trust, and a stale ca.crt', () => {
    const other = rootCa({ now: new Date(NOW.getTime() - DAY * 1000) });
    const report = run(pod, { secret: found(workloadSecret(other, pod, { bundlePem: ca.trustBundlePem })) });
    expect(byName(report)['certificate-chain']).toMatchObject({ ok: false, reason: 'untrusted' });
    const stale = run(pod, {
      secret: found(workloadSecret(ca, pod, { bundlePem: other.trustBundlePem + ca.trustBundlePem })),
    });
    expect(byName(stale)['trust-bundle']?.ok).toBe(true);
    const missing = run(pod, {
      secret: found(workloadSecret(ca, pod)),
      clusterBundlePem: ca.trustBundlePem + other.trustBundlePem,
    });
    expect(byName(missing)['trust-bundle']).toMatchObject({
      ok: false,
      severity: 'warning',
      reason: 'bundle_stale',
    });
  });

  it('a key that does not match', () => {
    const secret = workloadSecret(ca, pod);
    const otherKey = workloadSecret(ca, pod).data?.['tls.key'] ?? '';
    const report = run(pod, { secret: found({ ...secret, data: { ...secret.data, 'tls.key': otherKey } }) });
    expect(byName(report)['certificate-key']).toMatchObject({ ok: false, reason: 'key_mismatch' });
  });

  it('garbage in tls.crt', () => {
    const secret = workloadSecret(ca, pod);
    const report = run(pod, {
      secret: found({ ...secret, data: { ...secret.data, ...encodeFiles({ 'tls.crt': 'nope' }) } }),
    });
    expect(byName(report)['certificate-validity']).toMatchObject({ ok: false, reason: 'no_certificate' });
  });

  it('warns when less than a quarter of the lifetime is left (renewal overdue)', () => {
    const late = workloadSecret(ca, pod, { now: new Date(NOW.getTime() - 20 * 3600 * 1000) });
    const expiry = byName(run(pod, { secret: found(late) }))['certificate-expiry'];
    expect(expiry).toMatchObject({ ok: false, severity: 'warning', reason: 'renewal_overdue' });
    expect(expiry?.message).toMatch(/^expires in 4h \(/);
  });

  it('reports an unreadable Secret as the read failure', () => {
    const result = {
      name: 'secret',
      ok: false,
      severity: 'warning' as const,
      reason: 'forbidden',
      message: 'm',
      hint: null,
    };
    expect(run(pod, { secret: { kind: 'error', result } }).checks[1]).toBe(result);
  });
});

describe('checkPod: an mtls-init image the node cannot get', () => {
  const pod = injectedPod('web-0');
  const waitingOn = (reason: string, message?: string, name = 'mtls-init'): PodObject => ({
    ...pod,
    status: {
      phase: 'Pending',
      initContainerStatuses: [
        {
          name,
          image: 'registry.example.com/mtls-injector/mtls-init:0.1.0',
          state: { waiting: { reason, ...(message === undefined ? {} : { message }) } },
        },
      ],
    },
  });

  it('names the image, the kubelet reason and what to do, as an error', () => {
    const check = byName(run(waitingOn('ImagePullBackOff', 'Back-off pulling image')))['init-image'];
    expect(check).toMatchObject({ ok: false, severity: 'error', reason: 'init_image_unavailable' });
    expect(check?.message).toBe(
      'mtls-init cannot start, so neither can the pod: the node cannot get registry.example.com/mtls-injector/mtls-init:0.1.0 (ImagePullBackOff: Back-off pulling image)',
    );
    expect(check?.hint).toContain('init.repository');
    expect(byName(run(waitingOn('ErrImagePull')))['init-image']?.reason).toBe('init_image_unavailable');
  });

  it('says nothing while mtls-init waits for anything else, for another container, or for a pod not injected', () => {
    expect(byName(run(waitingOn('PodInitializing')))['init-image']).toBeUndefined();
    expect(byName(run(waitingOn('ImagePullBackOff', undefined, 'app')))['init-image']).toBeUndefined();
    expect(byName(run(pod))['init-image']).toBeUndefined();
    const plain = plainPod('web-1');
    const notInjected: PodObject = { ...plain, status: { ...waitingOn('ImagePullBackOff').status } };
    expect(byName(run(notInjected))['init-image']).toBeUndefined();
  });
});
