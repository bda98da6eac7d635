import { describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import { MANAGED_LABEL } from '../../src/core/names.js';
import type { SecretObject } from '../../src/kube/types.js';
import { MAX_SECRET_BYTES } from '../../src/model/secret-data.js';
import { podTarget, Reporter } from '../../src/rotator/reporter.js';
import { SecretWriter } from '../../src/rotator/secret-writer.js';
import { FakeClock } from '../fakes/clock.js';
import { FakeEvents, FakeSecretApi } from '../fakes/kube.js';
import { memoryLog } from '../fakes/log.js';

function setup() {
  const clock = new FakeClock();
  const secrets = new FakeSecretApi();
  const events = new FakeEvents();
  const seen: { op: string; name: string; own?: boolean }[] = [];
  const leadership = { until: Number.POSITIVE_INFINITY };
  const writer = new SecretWriter({
    leadership: { validUntil: () => leadership.until },
    secrets,
    writeQps: 10,
    writeBurst: 2,
    clock: clock.read,
    sleep: clock.sleep,
    reporter: new Reporter({
      events,
      log: memoryLog(),
      counters: {
        issued: () => undefined,
        failed: () => undefined,
        foreign: () => undefined,
        collision: () => undefined,
      },
    }),
    observer: {
      upsert: (s, own) => seen.push({ op: 'upsert', name: s.metadata.name ?? '', own }),
      remove: (s) => seen.push({ op: 'remove', name: s.metadata.name ?? '' }),
    },
  });
  return { clock, secrets, events, seen, writer, leadership };
}

function secret(name: string, data: Record<string, string> = { 'tls.crt': 'eA==' }): SecretObject {
  return { metadata: { name, namespace: 'shop', labels: { [MANAGED_LABEL]: 'true' } }, data };
}

const target = podTarget({ namespace: 'shop', name: 'web-0', uid: 'u1' });

describe('SecretWriter', () => {
  it('refuses a Secret over the API server limit before writing, with an Event on the pod (D8)', async () => {
    const { secrets, events, writer } = setup();
    const huge = secret('web-0-mtls', { 'ca.crt': 'A'.repeat(MAX_SECRET_BYTES + 1) });
    const err: unknown = await writer.create(huge, target).catch((e: unknown) => e);
    expect(isInjectorError(err, 'MTLS_ERR_KUBE_SECRET_TOO_LARGE')).toBe(true);
    expect((err as Error).message).toMatch(/would hold 1048577 bytes; the API server stores at most 1048576/);
    expect(secrets.calls).toEqual([]);
    expect(events.events).toMatchObject([
      { target: { name: 'web-0' }, type: 'Warning', reason: 'IssueFailed' },
    ]);
  });

  it('spaces writes by the token bucket: a burst of 2, then 10 per second (D3, F4)', async () => {
    const { clock, writer } = setup();
    const start = clock.now;
    for (let i = 0; i < 6; i++) await writer.create(secret(`s-${i}`));
    expect(clock.now - start).toBe(400);
  });

  it('answers the Secret already there on a 409 create, recorded when managed (D5)', async () => {
    const { secrets, seen, writer } = setup();
    secrets.put(secret('web-0-mtls'));
    const result = await writer.create(secret('web-0-mtls'), target);
    expect('exists' in result && result.exists.metadata.name).toBe('web-0-mtls');
    expect(seen).toEqual([{ op: 'upsert', name: 'web-0-mtls', own: false }]);
    expect(secrets.calls.map((c) => c.op)).toEqual(['create', 'get']);
  });

  it('re-reads into the cache and rethrows on a 409 or 404 replace (F3)', async () => {
    const { secrets, seen, writer } = setup();
    const stored = secrets.put(secret('web-0-mtls'));
    const stale = { ...stored, metadata: { ...stored.metadata, resourceVersion: '1' } };
    await expect(writer.replace(stale, target)).rejects.toMatchObject({ status: 409 });
    expect(seen).toEqual([{ op: 'upsert', name: 'web-0-mtls', own: false }]);
    await secrets.delete('shop', 'web-0-mtls');
    await expect(writer.replace(stored, target)).rejects.toMatchObject({ status: 404 });
    expect(seen.at(-1)).toEqual({ op: 'remove', name: 'web-0-mtls' });
  });

  it('records its own writes as its own', async () => {
    const { seen, writer } = setup();
    const result = await writer.create(secret('web-0-mtls'), target);
    expect('created' in result).toBe(true);
    expect(seen).toEqual([{ op: 'upsert', name: 'web-0-mtls', own: true }]);
  });

  it('gives every write a deadline inside the leadership, and starts none after it (issue: two leaders)', async () => {
    const { clock, secrets, writer, leadership } = setup();
    leadership.until = clock.now + 60_000;
    await writer.create(secret('a'));
    expect(secrets.calls.at(-1)).toMatchObject({ op: 'create', timeoutMs: 10_000 });
    leadership.until = clock.now + 3_000;
    await writer.replace({ ...(secrets.objects.get('shop/a') as SecretObject) });
    expect(secrets.calls.at(-1)).toMatchObject({ op: 'replace', timeoutMs: 3_000 });
    leadership.until = clock.now - 1;
    const writes = secrets.writes();
    await expect(writer.create(secret('b'))).rejects.toThrow(/no longer leads/);
    expect(secrets.writes()).toBe(writes);
  });
});
