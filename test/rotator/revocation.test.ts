/**
 * The rotator's part of revocation, over the in-memory API and the real pki, with openssl as the independent
 * judge of the CRLs: the leader reads the record, reissues the revoked pod first, signs one CRL per issuing
 * CA into the CRL ConfigMap and every managed Secret's ca.crl, re-signs before nextUpdate and on every
 * change, prunes expired entries, and a new leader carries on from the ConfigMap.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CA_FILE, CERT_FILE, CRL_CONFIGMAP, CRL_FILE, REVOCATIONS_CONFIGMAP } from '../../src/core/names.js';
import type { SecretObject } from '../../src/kube/types.js';
import { newCaSecret, readCaSecret } from '../../src/model/ca-secret.js';
import { planActivate, planPrepare, planRetire } from '../../src/model/ca-rotation.js';
import {
  readRevocationRecord,
  revocationConfigMap,
  type RevocationEntry,
} from '../../src/model/revocations.js';
import { secretFile } from '../../src/model/secret-data.js';
import { parseCrls } from '../../src/pki/crl-reader.js';
import { leafSummary } from '../../src/pki/x509.js';
import { createRotatorRevocation, type RotatorRevocation } from '../../src/rotator/revocation.js';
import { FakeConfigMapApi } from '../fakes/kube.js';
import { staticLeadership } from '../fakes/leadership.js';
import { memoryLog } from '../fakes/log.js';
import { opensslStatus, tempDir, writeFiles } from '../pki/helpers.js';
import { type Harness, makeCa, makeHarness, managedPod } from './harness.js';

const NS = 'mtls-injector';
const tmp = tempDir('mtls-rotator-crl-');
afterAll(() => tmp.cleanup());
let files = 0;

/** openssl verify -crl_check of a Secret's leaf against that Secret's ca.crt and ca.crl, at the fake time. */
function opensslVerify(secret: SecretObject, leafPem: string, at: number): { status: number; out: string } {
  const n = ++files;
  const paths = writeFiles(tmp.dir, {
    [`ca-${n}.crt`]: secretFile(secret, CA_FILE) ?? '',
    [`crl-${n}.pem`]: secretFile(secret, CRL_FILE) ?? '',
    [`leaf-${n}.crt`]: leafPem,
  });
  return opensslStatus([
    'verify',
    '-crl_check',
    '-attime',
    String(Math.floor(at / 1000)),
    '-CAfile',
    paths[`ca-${n}.crt`] ?? '',
    '-CRLfile',
    paths[`crl-${n}.pem`] ?? '',
    paths[`leaf-${n}.crt`] ?? '',
  ]);
}

interface World {
  readonly h: Harness;
  readonly configMaps: FakeConfigMapApi;
  readonly revocation: RotatorRevocation;
  readonly reissuedAfter: number[];
  /** A pass of the leader's revocation loop, then the controller's work. */
  step(): Promise<void>;
}

function world(configMaps = new FakeConfigMapApi(), existing?: Harness): World {
  const reissuedAfter: number[] = [];
  const ref: { revocation?: RotatorRevocation } = {};
  const h =
    existing ??
    makeHarness({
      revocation: () =>
        ref.revocation === undefined
          ? undefined
          : { ...ref.revocation.hooks, reissued: (s) => reissuedAfter.push(s) },
    });
  const revocation = createRotatorRevocation({
    config: h.config,
    configMaps,
    leadership: staticLeadership(true),
    clock: h.clock.read,
    timers: h.clock,
    log: memoryLog(),
    signers: () => h.ca.crlSigners,
    recordChanged: (pods) => h.controller.trustChanged(pods),
    crlChanged: () => h.controller.trustChanged(),
  });
  ref.revocation = revocation;
  return {
    h,
    configMaps,
    revocation,
    reissuedAfter,
    async step() {
      await revocation.pass();
      await h.settle();
    },
  };
}

function revoke(w: World, secret: SecretObject, pod: string): RevocationEntry {
  const leaf = leafSummary(secretFile(secret, CERT_FILE) ?? '');
  if (leaf === undefined) throw new Error('no leaf');
  const key = `${NS}/${REVOCATIONS_CONFIGMAP}`;
  const before = readRevocationRecord(w.configMaps.objects.get(key));
  const entry: RevocationEntry = {
    serial: leaf.serialHex,
    issuer: leaf.issuerKeyIdHex ?? null,
    reason: 'keyCompromise',
    revokedAt: new Date(w.h.clock.now).toISOString(),
    notAfter: leaf.notAfter.toISOString(),
    identity: leaf.spiffeId ?? null,
    pod,
    by: 'alice',
    target: `pod ${pod}`,
  };
  const cm = revocationConfigMap(NS, [...before.entries, entry], before.resourceVersion);
  if (before.resourceVersion === undefined) void w.configMaps.create(cm);
  else void w.configMaps.replace(cm);
  return entry;
}

const secretOf = (h: Harness, pod: string) => h.secrets.objects.get(`shop/${pod}-mtls`) as SecretObject;
const crlConfigMap = (w: World) => w.configMaps.objects.get(`${NS}/${CRL_CONFIGMAP}`)?.data?.[CRL_FILE] ?? '';

describe('the leader acts on revocations', () => {
  it('reissues the revoked pod, lists the old serial on the CRL in every Secret and the ConfigMap, and openssl agrees', async () => {
    const w = world();
    const { h } = w;
    for (const name of ['a', 'b']) h.addPod(managedPod(name));
    await h.settle();
    await w.step();
    // Nothing revoked yet: an empty CRL of the CA, in the ConfigMap and every Secret.
    const empty = parseCrls(crlConfigMap(w));
    expect(empty).toHaveLength(1);
    expect(empty[0]?.revoked.size).toBe(0);
    for (const pod of ['a', 'b']) expect(secretFile(secretOf(h, pod), CRL_FILE)).toBe(crlConfigMap(w));

    const oldA = secretFile(secretOf(h, 'a'), CERT_FILE) ?? '';
    const oldB = secretFile(secretOf(h, 'b'), CERT_FILE) ?? '';
    const entry = revoke(w, secretOf(h, 'a'), 'shop/a');
    h.clock.now += 1500; // the leader's next read of the record
    await w.step();

    const newA = secretFile(secretOf(h, 'a'), CERT_FILE) ?? '';
    expect(leafSummary(newA)?.serialHex).not.toBe(entry.serial);
    expect(secretFile(secretOf(h, 'b'), CERT_FILE)).toBe(oldB); // only the revoked pod is reissued
    const [crl] = parseCrls(crlConfigMap(w));
    expect([...(crl?.revoked.keys() ?? [])]).toEqual([entry.serial]);
    expect(crl?.revoked.get(entry.serial)?.reason).toBe('keyCompromise');
    expect(crl?.crlNumber).toBeGreaterThan(empty[0]?.crlNumber ?? 0n);
    for (const pod of ['a', 'b']) expect(secretFile(secretOf(h, pod), CRL_FILE)).toBe(crlConfigMap(w));
    expect(w.reissuedAfter).toEqual([1.5]);
    expect(h.events.events.some((e) => e.message.includes('reissued (revoked)'))).toBe(true);

    const seenByB = secretOf(h, 'b');
    const refused = opensslVerify(seenByB, oldA, h.clock.now);
    expect(refused.status, refused.out).not.toBe(0);
    expect(refused.out).toContain('certificate revoked');
    const accepted = opensslVerify(seenByB, newA, h.clock.now);
    expect(accepted.status, accepted.out).toBe(0);
    expect(opensslVerify(seenByB, oldB, h.clock.now).status).toBe(0);
  });

  it('re-signs before nextUpdate and refreshes every copy; keeps the CRL while nothing changed', async () => {
    const w = world();
    const { h } = w;
    h.addPod(managedPod('a'));
    await h.settle();
    await w.step();
    const first = parseCrls(crlConfigMap(w))[0];
    const writes = () => w.configMaps.calls.filter((c) => c.op !== 'get').length;
    const before = writes();
    h.clock.now += 10_000;
    await w.step();
    expect(writes()).toBe(before); // nothing changed, nothing signed
    // Past half the window (twice the 1 h leaf lifetime): signed again, copied into the Secret.
    h.clock.now += w.revocation.hooks.crlValidityMs / 2;
    await w.step();
    const second = parseCrls(crlConfigMap(w))[0];
    expect(second?.crlNumber).toBeGreaterThan(first?.crlNumber ?? 0n);
    expect(second?.nextUpdate?.getTime()).toBeGreaterThan(first?.nextUpdate?.getTime() ?? 0);
    expect(secretFile(secretOf(h, 'a'), CRL_FILE)).toBe(crlConfigMap(w));
  });

  it('drops an entry once its certificate has expired: from the record and the CRL', async () => {
    const w = world();
    const { h } = w;
    h.addPod(managedPod('a'));
    await h.settle();
    const entry = revoke(w, secretOf(h, 'a'), 'shop/a');
    await w.step();
    expect(parseCrls(crlConfigMap(w))[0]?.revoked.has(entry.serial)).toBe(true);
    h.clock.now = Date.parse(entry.notAfter) + 6 * 60_000; // past notAfter plus the 5-minute grace
    await w.step();
    await w.step();
    expect(parseCrls(crlConfigMap(w))[0]?.revoked.size).toBe(0);
    const record = readRevocationRecord(w.configMaps.objects.get(`${NS}/${REVOCATIONS_CONFIGMAP}`));
    expect(record.entries).toEqual([]);
  });

  it('a new leader starts from the published CRL: no rewrite when nothing changed, numbers keep growing', async () => {
    const w = world();
    const { h } = w;
    h.addPod(managedPod('a'));
    await h.settle();
    revoke(w, secretOf(h, 'a'), 'shop/a');
    await w.step();
    const published = crlConfigMap(w);
    const next = world(w.configMaps, h); // another replica's publisher over the same API
    const writes = () => w.configMaps.calls.filter((c) => c.op !== 'get').length;
    const before = writes();
    await next.step();
    expect(writes()).toBe(before);
    expect(next.revocation.hooks.crl()?.pem).toBe(published);
    revoke(w, secretOf(h, 'a'), 'shop/a'); // the reissued certificate, revoked too
    await next.step();
    const [crl] = parseCrls(crlConfigMap(w));
    expect(crl?.revoked.size).toBe(2);
    expect(crl?.crlNumber).toBeGreaterThan(parseCrls(published)[0]?.crlNumber ?? 0n);
  });
});

describe('what the leader does when the record or the API fails (faults F13)', () => {
  it('acts on the last good record when it stops parsing, and never overwrites it', async () => {
    const w = world();
    const { h } = w;
    h.addPod(managedPod('a'));
    await h.settle();
    const entry = revoke(w, secretOf(h, 'a'), 'shop/a');
    await w.step();
    const key = `${NS}/${REVOCATIONS_CONFIGMAP}`;
    const broken = w.configMaps.objects.get(key);
    if (broken === undefined) throw new Error('no record');
    await w.configMaps.replace({ ...broken, data: { 'revocations.json': '{ not json' } });
    const writes = () => w.configMaps.calls.filter((c) => c.op !== 'get').length;
    const before = writes();
    h.clock.now += 10_000;
    await w.step();
    expect(writes()).toBe(before);
    expect(w.configMaps.objects.get(key)?.data?.['revocations.json']).toBe('{ not json');
    expect(parseCrls(crlConfigMap(w))[0]?.revoked.has(entry.serial)).toBe(true);
    expect(w.revocation.revoked()).toBe(1);
  });

  it('retries a CRL write that failed on the next pass, from what the API holds', async () => {
    const w = world();
    const { h } = w;
    h.addPod(managedPod('a'));
    await h.settle();
    const create = w.configMaps.create.bind(w.configMaps);
    w.configMaps.create = () => Promise.reject(new Error('connection reset'));
    await w.step();
    expect(crlConfigMap(w)).toBe('');
    expect(secretFile(secretOf(h, 'a'), CRL_FILE)).toBeUndefined();
    w.configMaps.create = create;
    await w.step();
    expect(parseCrls(crlConfigMap(w))).toHaveLength(1);
    expect(secretFile(secretOf(h, 'a'), CRL_FILE)).toBe(crlConfigMap(w));
  });
});

describe('one CRL per issuing CA during a CA rotation', () => {
  it('signs for the prepared CA, keeps the previous CA key until retire, and each CRL lists only its own', async () => {
    const w = world();
    const { h } = w;
    h.addPod(managedPod('a'));
    await h.settle();
    const oldCa = h.ca.active;
    const caSecret = {
      ...newCaSecret(oldCa, NS, 'mtls-injector-ca', new Date(h.clock.now)),
      metadata: { name: 'mtls-injector-ca', namespace: NS, resourceVersion: '1' },
    };
    const prepared = planPrepare(caSecret, makeCa(h.clock), new Date(h.clock.now));
    if (!prepared.ok) throw new Error(prepared.message);
    h.setCa(readCaSecret(prepared.secret, new Date(h.clock.now)));
    expect(h.ca.crlSigners.map((c) => c.subjectKeyIdHex)).toHaveLength(2);
    await h.settle();
    const entry = revoke(w, secretOf(h, 'a'), 'shop/a');
    await w.step();
    const crls = parseCrls(crlConfigMap(w));
    expect(crls).toHaveLength(2); // the active (old) CA's, listing the serial, and the prepared CA's, empty
    expect(crls.map((c) => c.revoked.size).sort()).toEqual([0, 1]);

    h.clock.now += 10 * 60_000;
    const activated = planActivate(
      prepared.secret,
      [...h.secrets.objects.values()],
      new Date(h.clock.now),
      0,
    );
    if (!activated.ok) throw new Error(activated.message);
    expect(secretFile(activated.secret, 'previous.key')).toBeDefined();
    h.setCa(readCaSecret(activated.secret, new Date(h.clock.now)));
    await h.settle();
    await w.step();
    const during = parseCrls(crlConfigMap(w));
    expect(during).toHaveLength(2);
    const ofOld = during.find((c) => c.authorityKeyId?.toString('hex') === oldCa.subjectKeyIdHex);
    expect(ofOld?.revoked.has(entry.serial)).toBe(true); // the old CA's leaf stays revoked after activate

    const retired = planRetire(activated.secret, [...h.secrets.objects.values()], new Date(h.clock.now), 0);
    if (!retired.ok) throw new Error(retired.message);
    expect(secretFile(retired.secret, 'previous.key')).toBeUndefined();
    expect(readCaSecret(retired.secret, new Date(h.clock.now)).crlSigners).toHaveLength(1);
  });
});
