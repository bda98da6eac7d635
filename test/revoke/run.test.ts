import { beforeEach, describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import { REVOCATIONS_CONFIGMAP, REVOCATIONS_KEY } from '../../src/core/names.js';
import type { EventTarget } from '../../src/kube/types.js';
import { readRevocationRecord, revocationConfigMap } from '../../src/model/revocations.js';
import { buildWorkloadSecret } from '../../src/model/workload-secret.js';
import type { CertificateAuthority } from '../../src/pki/ca.js';
import { issueWorkloadIdentity, type IssuedLeaf } from '../../src/pki/issue.js';
import { renderRevoke } from '../../src/revoke/render.js';
import { type RevokeDeps, runRevoke } from '../../src/revoke/run.js';
import type { RevokeTarget } from '../../src/revoke/targets.js';
import { FakeConfigMapApi } from '../fakes/configmaps.js';
import { apiError, FakeSecretApi } from '../fakes/kube.js';
import { type FakeWorkloadApi, storedPod } from '../fakes/workloads.js';
import { INSTALL, NOW, revokeApis, revokeOptions } from './apis.js';

const HOUR = 3_600_000;

interface World {
  readonly ca: CertificateAuthority;
  readonly secrets: FakeSecretApi;
  readonly inspect: FakeWorkloadApi;
  readonly configMaps: FakeConfigMapApi;
  readonly events: { target: EventTarget; reason: string; message: string }[];
  failEvents: boolean;
  deps(): RevokeDeps;
  /** An injected pod of service account `sa` in `ns` with its Secret holding a leaf issued at `issuedAt`. */
  pod(name: string, options?: { ns?: string; sa?: string; issuedAt?: Date; certSa?: string }): IssuedLeaf;
}

function world(): World {
  const { ca, secrets, inspect, configMaps } = revokeApis();
  const w: World = {
    ca,
    secrets,
    inspect,
    configMaps,
    events: [],
    failEvents: false,
    deps: () => ({
      inspect,
      secrets,
      configMaps,
      events: (target, _type, reason, message) => {
        if (w.failEvents) return Promise.reject(apiError(403, 'events is forbidden'));
        w.events.push({ target, reason, message });
        return Promise.resolve();
      },
      whoami: () => Promise.resolve('alice@example.com'),
      now: NOW,
    }),
    pod(name, options = {}) {
      const ns = options.ns ?? 'shop';
      const sa = options.sa ?? 'web';
      const pod = storedPod(name, { namespace: ns, serviceAccount: sa, injected: true });
      inspect.pods.push(pod);
      const leaf = issueWorkloadIdentity(
        ca,
        { trustDomain: 'cluster.local', namespace: ns, serviceAccount: options.certSa ?? sa },
        {
          keyAlgorithm: 'ecdsa-p256',
          lifetimeSeconds: 24 * 3600,
          backdateSeconds: 60,
          now: options.issuedAt ?? NOW,
        },
      );
      secrets.put(
        buildWorkloadSecret(
          `${name}-mtls`,
          { namespace: ns, name, uid: pod.metadata.uid ?? '' },
          `spiffe://cluster.local/ns/${ns}/sa/${sa}`,
          leaf,
          ca.trustBundlePem,
        ),
      );
      return leaf;
    },
  };
  return w;
}

function record(w: World) {
  return readRevocationRecord(w.configMaps.objects.get(`${INSTALL}/${REVOCATIONS_CONFIGMAP}`));
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (isInjectorError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

let w: World;
beforeEach(() => {
  w = world();
});

describe('revoke --pod', () => {
  it("records the pod's live serial in the ConfigMap, with who, why, issuer and notAfter, and writes Events", async () => {
    const leaf = w.pod('web-0');
    w.pod('web-1');
    const outcome = await runRevoke(
      w.deps(),
      revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-0' }),
    );
    const expected = {
      serial: leaf.serialHex,
      issuer: w.ca.subjectKeyIdHex,
      reason: 'keyCompromise',
      revokedAt: NOW.toISOString(),
      notAfter: leaf.notAfter.toISOString(),
      identity: 'spiffe://cluster.local/ns/shop/sa/web',
      pod: 'shop/web-0',
      by: 'alice@example.com',
      target: 'pod shop/web-0',
    };
    expect(outcome.revoked).toEqual([expected]);
    expect(record(w).entries).toEqual([expected]);
    expect(w.configMaps.calls).toEqual([
      `get ${INSTALL}/${REVOCATIONS_CONFIGMAP}`,
      `create ${INSTALL}/${REVOCATIONS_CONFIGMAP}`,
    ]);
    expect(
      w.events.map((e) => `${e.target.kind} ${e.target.namespace}/${e.target.name} ${e.reason}`),
    ).toEqual([
      'Pod shop/web-0 CertificateRevoked',
      `ConfigMap ${INSTALL}/${REVOCATIONS_CONFIGMAP} CertificateRevoked`,
    ]);
    expect(w.events[0]?.message).toContain(`alice@example.com revoked certificate serial ${leaf.serialHex}`);
    expect(w.events[1]?.message).toMatch(
      /alice@example\.com revoked 1 certificate\(s\) for pod shop\/web-0, reason keyCompromise/,
    );
    const text = renderRevoke(outcome, INSTALL);
    expect(text).toContain(
      `revoked 1 certificate(s), reason keyCompromise:\n  serial ${leaf.serialHex}  spiffe://cluster.local/ns/shop/sa/web  pod shop/web-0`,
    );
    expect(text).not.toMatch(/BEGIN/);
  });

  it('a second revoke of the same certificate changes nothing and says when and by whom it was revoked', async () => {
    w.pod('web-0');
    const target: RevokeTarget = { kind: 'pod', namespace: 'shop', name: 'web-0' };
    await runRevoke(w.deps(), revokeOptions(target));
    const writes = w.configMaps.writes();
    const again = await runRevoke(w.deps(), revokeOptions(target, { reason: 'superseded' }));
    expect(again.revoked).toEqual([]);
    expect(again.already.map((e) => [e.reason, e.by])).toEqual([['keyCompromise', 'alice@example.com']]);
    expect(w.configMaps.writes()).toBe(writes);
    expect(renderRevoke(again, INSTALL)).toContain('already revoked (left as recorded)');
  });

  it('--dry-run lists what would be revoked and writes nothing', async () => {
    const leaf = w.pod('web-0');
    const outcome = await runRevoke(
      w.deps(),
      revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-0' }, { dryRun: true }),
    );
    expect(outcome.revoked.map((e) => e.serial)).toEqual([leaf.serialHex]);
    expect(w.configMaps.writes()).toBe(0);
    expect(w.events).toEqual([]);
    expect(renderRevoke(outcome, INSTALL)).toMatch(
      /would revoke 1 certificate[\s\S]*dry run: nothing written/,
    );
  });

  it.each([
    [
      'an unknown pod',
      'ghost',
      'MTLS_ERR_REVOKE_TARGET_NOT_FOUND',
      /pod shop\/ghost not found; nothing was revoked/,
    ],
    ['a pod that is not injected', 'plain', 'MTLS_ERR_REVOKE_NO_LIVE_CERTIFICATE', /is not injected/],
    [
      'a pod without a Secret',
      'bare',
      'MTLS_ERR_REVOKE_NO_LIVE_CERTIFICATE',
      /no managed Secret owned by it/,
    ],
  ])('refuses %s and writes nothing', async (_case, name, code, message) => {
    w.inspect.pods.push(storedPod('plain', { namespace: 'shop' }));
    w.inspect.pods.push(storedPod('bare', { namespace: 'shop', injected: true }));
    const refused = await refusal(
      runRevoke(w.deps(), revokeOptions({ kind: 'pod', namespace: 'shop', name })),
    );
    expect(refused.code).toBe(code);
    expect(refused.message).toMatch(message);
    expect(w.configMaps.calls).toEqual([]);
  });

  it("refuses a Secret whose certificate is another identity's, and says how to revoke that serial", async () => {
    const leaf = w.pod('web-0', { certSa: 'admin' });
    const refused = await refusal(
      runRevoke(w.deps(), revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-0' })),
    );
    expect(refused.code).toBe('MTLS_ERR_REVOKE_NO_LIVE_CERTIFICATE');
    expect(refused.message).toContain('holds a certificate for spiffe://cluster.local/ns/shop/sa/admin');
    expect(refused.message).toContain(`--serial ${leaf.serialHex}`);
  });

  it('refuses a pod whose certificate has expired', async () => {
    w.pod('web-0', { issuedAt: new Date(NOW.getTime() - 30 * HOUR) });
    const refused = await refusal(
      runRevoke(w.deps(), revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-0' })),
    );
    expect(refused.message).toMatch(/expired at/);
  });
});

describe('revoke --service-account', () => {
  it('revokes every live certificate of the identity, and only those', async () => {
    const a = w.pod('web-0');
    const b = w.pod('web-1');
    w.pod('web-2', { issuedAt: new Date(NOW.getTime() - 30 * HOUR) }); // expired
    w.pod('db-0', { sa: 'db' });
    w.pod('web-0', { ns: 'other' });
    const outcome = await runRevoke(
      w.deps(),
      revokeOptions({ kind: 'service-account', namespace: 'shop', name: 'web' }),
    );
    expect(outcome.revoked.map((e) => [e.serial, e.pod])).toEqual([
      [a.serialHex, 'shop/web-0'],
      [b.serialHex, 'shop/web-1'],
    ]);
    expect(w.events.filter((e) => e.target.kind === 'Pod').map((e) => e.target.name)).toEqual([
      'web-0',
      'web-1',
    ]);
  });

  it('refuses a service account with no live certificate, naming the identity', async () => {
    w.pod('web-0');
    const refused = await refusal(
      runRevoke(w.deps(), revokeOptions({ kind: 'service-account', namespace: 'shop', name: 'nobody' })),
    );
    expect(refused.code).toBe('MTLS_ERR_REVOKE_NO_LIVE_CERTIFICATE');
    expect(refused.message).toMatch(
      /no live certificate of spiffe:\/\/cluster\.local\/ns\/shop\/sa\/nobody among the 1 managed Secret/,
    );
    expect(w.configMaps.calls).toEqual([]);
  });
});

describe('revoke --serial', () => {
  it('finds the certificate wherever it lives, in any spelling of the serial', async () => {
    w.pod('web-0');
    const leaf = w.pod('api-0', { ns: 'other', sa: 'api' });
    const colons = leaf.serialHex.toUpperCase().match(/../g)?.join(':') ?? '';
    const outcome = await runRevoke(
      w.deps(),
      revokeOptions({ kind: 'serial', serial: colons, namespace: undefined }),
    );
    expect(outcome.revoked.map((e) => [e.serial, e.pod, e.target])).toEqual([
      [leaf.serialHex, 'other/api-0', `serial ${leaf.serialHex}`],
    ]);
  });

  it('refuses a malformed serial before any API call', async () => {
    const refused = await refusal(
      runRevoke(w.deps(), revokeOptions({ kind: 'serial', serial: 'not-hex', namespace: undefined })),
    );
    expect(refused).toEqual({
      code: 'MTLS_ERR_USAGE',
      message: expect.stringMatching(/not a hexadecimal number/) as unknown,
    });
    expect(w.secrets.calls).toEqual([]);
  });

  it('refuses a serial no managed Secret holds, unless forced; forced, it goes on every CA until it must have expired', async () => {
    w.pod('web-0');
    const target: RevokeTarget = { kind: 'serial', serial: '0badc0ffee', namespace: undefined };
    const refused = await refusal(runRevoke(w.deps(), revokeOptions(target)));
    expect(refused.code).toBe('MTLS_ERR_REVOKE_UNKNOWN_SERIAL');
    expect(refused.message).toMatch(
      /either the CA never issued it, or it was already replaced[\s\S]*--force/,
    );
    expect(w.configMaps.calls).toEqual([]);
    const forced = await runRevoke(w.deps(), revokeOptions(target, { force: true }));
    expect(forced.revoked).toEqual([
      expect.objectContaining({
        serial: '0badc0ffee',
        issuer: null,
        identity: null,
        pod: null,
        notAfter: new Date(NOW.getTime() + 24 * HOUR).toISOString(),
      }),
    ]);
  });

  it('says how to go on when the kubeconfig may not list Secrets cluster-wide', async () => {
    w.secrets.list = () => Promise.reject(apiError(403, 'secrets is forbidden'));
    const refused = await refusal(
      runRevoke(w.deps(), revokeOptions({ kind: 'serial', serial: 'ab', namespace: undefined })),
    );
    expect(refused.message).toMatch(/forbidden for this kubeconfig; pass -n NAMESPACE .* or --force/);
  });
});

describe('the record', () => {
  it('keeps both revocations when another revoke writes between our read and our write (409, re-read)', async () => {
    const a = w.pod('web-0');
    const b = w.pod('web-1');
    await runRevoke(w.deps(), revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-0' }));
    let interfered = false;
    w.configMaps.beforeWrite = () => {
      if (interfered) return;
      interfered = true;
      // Another writer: the same record with one more entry, stored first.
      const current = record(w);
      const extra = { ...current.entries[0]!, serial: 'abcdef', pod: null, identity: null };
      w.configMaps.put(revocationConfigMap(INSTALL, [...current.entries, extra], undefined));
    };
    await runRevoke(w.deps(), revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-1' }));
    expect(record(w).entries.map((e) => e.serial)).toEqual([a.serialHex, 'abcdef', b.serialHex]);
    expect(w.configMaps.calls.filter((c) => c.startsWith('replace'))).toHaveLength(2);
  });

  it('drops entries whose certificate has expired when it writes', async () => {
    w.pod('web-0');
    const old = {
      serial: '01',
      issuer: null,
      reason: 'superseded' as const,
      revokedAt: '2026-11-01T00:00:00Z',
      notAfter: '2026-11-02T00:00:00Z',
      identity: null,
      pod: null,
      by: 'bob',
      target: 'serial 01',
    };
    w.configMaps.put(revocationConfigMap(INSTALL, [old], undefined));
    const outcome = await runRevoke(
      w.deps(),
      revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-0' }),
    );
    expect(outcome.pruned).toBe(1);
    expect(record(w).entries.map((e) => e.pod)).toEqual(['shop/web-0']);
  });

  it('refuses to write over a record it cannot read, instead of dropping what it holds', async () => {
    w.pod('web-0');
    w.configMaps.put({
      metadata: { name: REVOCATIONS_CONFIGMAP, namespace: INSTALL },
      data: { [REVOCATIONS_KEY]: '{"schemaVersion": 1, "revoked": [{"serial": "zz"}]}' },
    });
    const refused = await refusal(
      runRevoke(w.deps(), revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-0' })),
    );
    expect(refused.code).toBe('MTLS_ERR_REVOKE_RECORD_INVALID');
    expect(refused.message).toMatch(/revoked\[0\]/);
    expect(w.configMaps.writes()).toBe(0);
  });

  it('records the revocation even when an Event cannot be written, and says so', async () => {
    w.pod('web-0');
    w.failEvents = true;
    const outcome = await runRevoke(
      w.deps(),
      revokeOptions({ kind: 'pod', namespace: 'shop', name: 'web-0' }),
    );
    expect(record(w).entries).toHaveLength(1);
    expect(outcome.warnings).toHaveLength(2);
    expect(outcome.warnings[0]).toMatch(
      /could not write the Event on Pod shop\/web-0 .*; the revocation is recorded/,
    );
  });
});
