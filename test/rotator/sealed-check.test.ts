import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { createKeyPool } from '../../src/pki/key-pool.js';
import { splitPem, toPem } from '../../src/pki/pem.js';
import { sealKeyOf, sealOf } from '../../src/pki/seal.js';
import { createPkiCertOps } from '../../src/rotator/pki-adapter.js';
import { FakeClock } from '../fakes/clock.js';
import { caMaterial, makeCa } from './harness.js';

const HOUR = 3_600_000;

/** The real CertOps over a fresh root, and a leaf it issued (with its seal). */
async function setup() {
  const clock = new FakeClock();
  const config = loadConfig({ flags: { leafLifetime: '1h', backdate: '60s' } });
  const material = caMaterial(makeCa(clock), clock);
  const certs = createPkiCertOps({
    config,
    caManager: { current: () => material },
    keyPool: createKeyPool({ algorithm: 'ecdsa-p256' }),
    clock: clock.read,
  });
  const issued = await certs.issue({ spiffeId: 'spiffe://cluster.local/ns/shop/sa/web', dnsNames: [] });
  return { clock, material, certs, issued };
}

/** tls.crt with the last byte of the leaf's signature changed: no longer signed by anyone. */
function corruptSignature(certPem: string): string {
  const [leaf] = splitPem(certPem);
  if (leaf === undefined) throw new Error('expected a certificate');
  const der = Buffer.from(leaf.der);
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0xff;
  return toPem('CERTIFICATE', der);
}

describe('CertOps.check of a sealed pair', () => {
  it('issues with a seal, and a sealed sound pair has no problems', async () => {
    const { clock, material, certs, issued } = await setup();
    expect(issued.seal).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const sealed = { seal: issued.seal ?? '', notBefore: issued.notBefore, notAfter: issued.notAfter };
    const files = { certPem: issued.certPem, keyPem: issued.keyPem, bundlePem: material.bundlePem };
    expect(certs.check({ ...files, now: new Date(clock.now), sealed })).toEqual([]);
  });

  it('trusts a seal made with the CA key in place of the signature check, and nothing else does', async () => {
    const { clock, material, certs, issued } = await setup();
    // A pair whose signature is broken: only the holder of the CA key could seal it.
    const broken = corruptSignature(issued.certPem);
    const base = { keyPem: issued.keyPem, bundlePem: material.bundlePem, now: new Date(clock.now) };
    const validity = { notBefore: issued.notBefore, notAfter: issued.notAfter };
    const unsealed = certs.check({ ...base, certPem: broken });
    expect(unsealed.map((p) => p.code)).toContain('untrusted');

    const byCa = sealOf(sealKeyOf(material.active.keyPem), broken, issued.keyPem);
    expect(certs.check({ ...base, certPem: broken, sealed: { seal: byCa, ...validity } })).toEqual([]);

    // The seal of the intact pair does not cover the broken one, and a seal from another CA's key is nobody's.
    const stale = { seal: issued.seal ?? '', ...validity };
    expect(certs.check({ ...base, certPem: broken, sealed: stale }).map((p) => p.code)).toContain(
      'untrusted',
    );
    const forged = sealOf(sealKeyOf(makeCa(clock).keyPem), broken, issued.keyPem);
    const byForger = certs.check({ ...base, certPem: broken, sealed: { seal: forged, ...validity } });
    expect(byForger.map((p) => p.code)).toContain('untrusted');
  });

  it('still finds a swapped key: the seal covers tls.key too', async () => {
    const { clock, material, certs, issued } = await setup();
    const other = issueLeaf(material.active, {
      spiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
      keyAlgorithm: 'ecdsa-p256',
      lifetimeSeconds: 3600,
      backdateSeconds: 60,
      now: new Date(clock.now),
    });
    const problems = certs.check({
      certPem: issued.certPem,
      keyPem: other.keyPem,
      bundlePem: material.bundlePem,
      now: new Date(clock.now),
      sealed: { seal: issued.seal ?? '', notBefore: issued.notBefore, notAfter: issued.notAfter },
    });
    expect(problems.map((p) => p.code)).toEqual(['key_mismatch']);
  });

  it('checks validity and the bundle itself: an expired sealed leaf, a bundle without the CA', async () => {
    const { clock, material, certs, issued } = await setup();
    const sealed = { seal: issued.seal ?? '', notBefore: issued.notBefore, notAfter: issued.notAfter };
    const files = { certPem: issued.certPem, keyPem: issued.keyPem, bundlePem: material.bundlePem };
    const later = certs.check({ ...files, now: new Date(clock.now + 2 * HOUR), sealed });
    expect(later.map((p) => p.code)).toEqual(['expired']);

    const elsewhere = caMaterial(makeCa(clock), clock).bundlePem;
    const foreignBundle = certs.check({ ...files, bundlePem: elsewhere, now: new Date(clock.now), sealed });
    expect(foreignBundle.map((p) => p.code)).toContain('untrusted');
  });
});
