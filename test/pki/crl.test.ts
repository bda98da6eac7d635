/**
 * The CRL encoder and reader against openssl as the independent implementation: `openssl crl -text` for the
 * fields, `openssl crl -verify` for the signature, `openssl verify -crl_check` for what relying parties do
 * (revoked leaf refused, fresh leaf accepted, expired entries gone), and openssl's own CRLs read back.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import type { KeyAlgorithm } from '../../src/core/key-algorithm.js';
import { type CertificateAuthority, generateRootCa, loadCa } from '../../src/pki/ca.js';
import { buildCrl, type CrlEntry } from '../../src/pki/crl.js';
import { crlSignedBy, parseCrls, readCrl } from '../../src/pki/crl-reader.js';
import { explicit, integer, sequence, x509Time } from '../../src/pki/der.js';
import { extension } from '../../src/pki/certificate.js';
import { issueWorkloadIdentity, type IssuedLeaf } from '../../src/pki/issue.js';
import { openssl, opensslStatus, plus, tempDir, writeFiles } from './helpers.js';
import { opensslPki } from './openssl-pki.js';

const tmp = tempDir('mtls-crl-');
afterAll(() => tmp.cleanup());

const NOW = new Date();
const HOUR = 3600;

function rootCa(keyAlgorithm: KeyAlgorithm = 'ecdsa-p256', now = NOW): CertificateAuthority {
  return generateRootCa({ keyAlgorithm, trustDomain: 'cluster.local', lifetimeSeconds: 30 * 86_400, now });
}

function leaf(ca: CertificateAuthority, serviceAccount: string, now = NOW, lifetime = 24 * HOUR): IssuedLeaf {
  return issueWorkloadIdentity(
    ca,
    { trustDomain: 'cluster.local', namespace: 'demo', serviceAccount },
    { keyAlgorithm: 'ecdsa-p256', lifetimeSeconds: lifetime, backdateSeconds: 60, now },
  );
}

function entry(issued: IssuedLeaf, reason: CrlEntry['reason'] = 'keyCompromise', at = NOW): CrlEntry {
  return { serialHex: issued.serialHex, revokedAt: at, reason, notAfter: issued.notAfter };
}

/**
 * The next whole second, once the clock has reached it: at or after the notBefore openssl just wrote, and
 * not in the future for the openssl verify that follows (a CRL with a future thisUpdate is "not yet valid").
 */
function afterOpenssl(): Date {
  const at = Math.ceil(Date.now() / 1000) * 1000;
  const wait = at - Date.now();
  if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
  return new Date(at);
}

let files = 0;
/** openssl verify of `leafPem` against the CA bundle and a CRL; resolves with status and output. */
function verifyWithCrl(
  bundlePem: string,
  leafPem: string,
  crlPem: string,
  flag = '-crl_check',
): { status: number; out: string } {
  const n = ++files;
  const paths = writeFiles(tmp.dir, {
    [`ca-${n}.crt`]: bundlePem,
    [`leaf-${n}.crt`]: leafPem,
    [`crl-${n}.pem`]: crlPem,
  });
  return opensslStatus([
    'verify',
    flag,
    '-CAfile',
    paths[`ca-${n}.crt`] ?? '',
    '-CRLfile',
    paths[`crl-${n}.pem`] ?? '',
    '-untrusted', // tls.crt carries the intermediates after the leaf
    paths[`leaf-${n}.crt`] ?? '',
    paths[`leaf-${n}.crt`] ?? '',
  ]);
}

describe('buildCrl, read by openssl crl -text', () => {
  const ca = rootCa();
  const revoked = leaf(ca, 'frontend');
  const superseded = leaf(ca, 'backend');
  const crl = buildCrl(ca, {
    crlNumber: 42n,
    thisUpdate: NOW,
    nextUpdate: plus(NOW, 6 * HOUR),
    entries: [entry(revoked), entry(superseded, 'superseded'), { ...entry(leaf(ca, 'x'), 'unspecified') }],
  });
  const text = openssl(['crl', '-noout', '-text'], crl.pem);

  it('is a v2 CRL of the CA, with its AKI, the CRL number and the update window', () => {
    expect(text).toContain('Version 2 (0x1)');
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(text).toContain('Issuer: O = cluster.local, CN = mtls-injector root CA');
    const aki = ca.subjectKeyIdHex.toUpperCase().match(/../g)?.join(':') ?? '';
    expect(text).toMatch(new RegExp(`X509v3 Authority Key Identifier: *\\n\\s+(keyid:)?${aki}`));
    expect(text).toMatch(/X509v3 CRL Number: *\n\s+42\n/);
    const lastUpdate = openssl(['crl', '-noout', '-lastupdate', '-nextupdate'], crl.pem);
    expect(new Date(/lastUpdate=(.*)/.exec(lastUpdate)?.[1] ?? '').getTime()).toBe(crl.thisUpdate.getTime());
    expect(new Date(/nextUpdate=(.*)/.exec(lastUpdate)?.[1] ?? '').getTime()).toBe(crl.nextUpdate.getTime());
  });

  it('lists each serial with its reason; unspecified carries no reasonCode (RFC 5280 §5.3.1)', () => {
    const blocks = text.split('Serial Number: ').slice(1);
    expect(blocks).toHaveLength(3);
    const bySerial = new Map(blocks.map((b) => [b.split('\n')[0]?.trim().toLowerCase() ?? '', b]));
    expect(bySerial.get(revoked.serialHex)).toMatch(/CRL Reason Code: *\n\s+Key Compromise/);
    expect(bySerial.get(superseded.serialHex)).toMatch(/CRL Reason Code: *\n\s+Superseded/);
    const unspecified = [...bySerial.values()].filter((b) => !b.includes('CRL Reason Code'));
    expect(unspecified).toHaveLength(1);
    expect(crl.listed).toHaveLength(3);
  });

  it('carries a signature openssl accepts with the CA certificate, and refuses with another CA', () => {
    const [caFile] = Object.values(writeFiles(tmp.dir, { 'sig-ca.crt': ca.certPem }));
    const own = opensslStatus(['crl', '-noout', '-verify', '-CAfile', caFile ?? ''], crl.pem);
    expect(own.out).toMatch(/verify OK/);
    expect(own.status).toBe(0);
    const [otherFile] = Object.values(writeFiles(tmp.dir, { 'sig-other.crt': rootCa().certPem }));
    const other = opensslStatus(['crl', '-noout', '-verify', '-CAfile', otherFile ?? ''], crl.pem);
    expect(other.out).toMatch(/verify failure/);
  });

  it('writes no revokedCertificates field at all when nothing is listed (RFC 5280: absent, not empty)', () => {
    const empty = buildCrl(ca, { crlNumber: 1n, thisUpdate: NOW, nextUpdate: plus(NOW, HOUR), entries: [] });
    expect(openssl(['crl', '-noout', '-text'], empty.pem)).toContain('No Revoked Certificates.');
    expect(openssl(['asn1parse', '-inform', 'PEM'], empty.pem)).not.toMatch(/cons: SEQUENCE\s*\n.*:\s*$/m);
  });
});

describe('relying parties: openssl verify -crl_check', () => {
  it.each<KeyAlgorithm>(['ecdsa-p256', 'ed25519', 'rsa-2048'])(
    'a %s CA: the revoked leaf is refused, a fresh leaf of the same identity accepted',
    (algorithm) => {
      const ca = rootCa(algorithm);
      const old = leaf(ca, 'frontend');
      const reissued = leaf(ca, 'frontend');
      const crl = buildCrl(ca, {
        crlNumber: 2n,
        thisUpdate: NOW,
        nextUpdate: plus(NOW, HOUR),
        entries: [entry(old)],
      });
      const refused = verifyWithCrl(ca.trustBundlePem, old.certPem, crl.pem);
      expect(refused.status).not.toBe(0);
      expect(refused.out).toMatch(/certificate revoked/);
      for (const flag of ['-crl_check', '-crl_check_all']) {
        const accepted = verifyWithCrl(ca.trustBundlePem, reissued.certPem, crl.pem, flag);
        expect(accepted.out).toMatch(/: OK/);
        expect(accepted.status).toBe(0);
      }
    },
  );

  it('drops entries whose certificate expired more than the grace ago; the rest stay listed', () => {
    const ca = rootCa('ecdsa-p256', plus(NOW, -10 * HOUR));
    const longGone = leaf(ca, 'gone', plus(NOW, -5 * HOUR), HOUR); // notAfter ≈ now − 4 h
    const justExpired = leaf(ca, 'recent', plus(NOW, -HOUR - 60), HOUR); // notAfter ≈ now − 2 min
    const live = leaf(ca, 'live');
    const crl = buildCrl(ca, {
      crlNumber: 3n,
      thisUpdate: NOW,
      nextUpdate: plus(NOW, HOUR),
      entries: [entry(longGone), entry(justExpired), entry(live)],
    });
    expect(crl.pruned).toBe(1);
    expect(new Set(crl.listed)).toEqual(new Set([justExpired.serialHex, live.serialHex]));
    const text = openssl(['crl', '-noout', '-text'], crl.pem).toLowerCase();
    expect(text).not.toContain(longGone.serialHex);
    expect(text).toContain(justExpired.serialHex);
    expect(text).toContain(live.serialHex);
    expect(verifyWithCrl(ca.trustBundlePem, live.certPem, crl.pem).out).toMatch(/certificate revoked/);
  });

  it('without grace, an entry leaves the CRL the moment its certificate expires', () => {
    const ca = rootCa('ecdsa-p256', plus(NOW, -10 * HOUR));
    const expired = leaf(ca, 'recent', plus(NOW, -HOUR - 60), HOUR);
    const crl = buildCrl(ca, {
      crlNumber: 4n,
      thisUpdate: NOW,
      nextUpdate: plus(NOW, HOUR),
      entries: [entry(expired)],
      pruneGraceSeconds: 0,
    });
    expect(crl.listed).toEqual([]);
    expect(openssl(['crl', '-noout', '-text'], crl.pem)).toContain('No Revoked Certificates.');
  });

  it('an expired CRL makes openssl refuse even a good leaf (why the rotator refreshes before nextUpdate)', () => {
    const ca = rootCa('ecdsa-p256', plus(NOW, -10 * HOUR));
    const good = leaf(ca, 'frontend');
    const crl = buildCrl(ca, {
      crlNumber: 5n,
      thisUpdate: plus(NOW, -3 * HOUR),
      nextUpdate: plus(NOW, -HOUR),
      entries: [],
    });
    expect(verifyWithCrl(ca.trustBundlePem, good.certPem, crl.pem).out).toMatch(/CRL has expired/);
  });

  it('a bring-your-own intermediate signs CRLs -crl_check accepts; -crl_check_all also needs the root CRL', () => {
    const pki = opensslPki(tmp.dir);
    const root = pki.selfSigned('byo-root', '/O=Example/CN=Example Root');
    const intermediate = pki.signed('byo-inter', '/O=Example/CN=Example Issuing CA', root);
    const ca = loadCa({
      certChainPem: intermediate.certPem,
      keyPem: intermediate.keyPem,
      bundlePem: root.certPem,
      now: afterOpenssl(),
    });
    const now = afterOpenssl();
    const old = leaf(ca, 'frontend', now);
    const fresh = leaf(ca, 'frontend', now);
    const crl = buildCrl(ca, {
      crlNumber: 1n,
      thisUpdate: now,
      nextUpdate: plus(NOW, HOUR),
      entries: [entry(old)],
    });
    expect(verifyWithCrl(root.certPem, old.certPem, crl.pem).out).toMatch(/certificate revoked/);
    expect(verifyWithCrl(root.certPem, fresh.certPem, crl.pem).status).toBe(0);
    expect(verifyWithCrl(root.certPem, fresh.certPem, crl.pem, '-crl_check_all').out).toMatch(
      /unable to get certificate CRL/,
    );
  });

  it('refuses to sign with an intermediate whose keyUsage lacks cRLSign', () => {
    const pki = opensslPki(tmp.dir);
    const root = pki.selfSigned('nocrl-root', '/CN=Root');
    const intermediate = pki.signed('nocrl-inter', '/CN=Issuing', root, {
      section: 'issuing_ca_no_crl_sign',
    });
    const now = afterOpenssl();
    const ca = loadCa({
      certChainPem: intermediate.certPem,
      keyPem: intermediate.keyPem,
      bundlePem: root.certPem,
      now,
    });
    let caught: unknown;
    try {
      buildCrl(ca, { crlNumber: 1n, thisUpdate: now, nextUpdate: plus(now, HOUR), entries: [] });
    } catch (err) {
      caught = err;
    }
    expect(isInjectorError(caught, 'MTLS_ERR_PKI_CA_NO_CRL_SIGN')).toBe(true);
    expect((caught as Error).message).toMatch(/keyUsage without cRLSign/);
  });
});

describe('buildCrl refuses what no relying party would accept', () => {
  const ca = rootCa();
  const base = { crlNumber: 1n, thisUpdate: NOW, nextUpdate: plus(NOW, HOUR), entries: [] };
  it.each([
    ['a nextUpdate not after thisUpdate', { ...base, nextUpdate: NOW }, 'MTLS_ERR_USAGE', /nextUpdate/],
    ['a negative CRL number', { ...base, crlNumber: -1n }, 'MTLS_ERR_USAGE', /out of range/],
    ['a CRL number over 20 octets', { ...base, crlNumber: 1n << 160n }, 'MTLS_ERR_USAGE', /20 octets/],
    [
      'a serial that is not hex',
      {
        ...base,
        entries: [{ serialHex: 'xyz', revokedAt: NOW, reason: 'superseded', notAfter: plus(NOW, HOUR) }],
      },
      'MTLS_ERR_USAGE',
      /not a hexadecimal number/,
    ],
    [
      'a thisUpdate after the CA expired',
      { ...base, thisUpdate: plus(NOW, 31 * 86_400), nextUpdate: plus(NOW, 32 * 86_400) },
      'MTLS_ERR_PKI_CA_EXPIRED',
      /expired/,
    ],
  ] as const)('%s', (_name, options, code, message) => {
    let caught: unknown;
    try {
      buildCrl(ca, options);
    } catch (err) {
      caught = err;
    }
    expect(isInjectorError(caught, code)).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });

  it('lists a serial given twice once, with its earliest revocation date', () => {
    const issued = leaf(ca, 'twice');
    const crl = buildCrl(ca, {
      ...base,
      entries: [entry(issued, 'superseded', NOW), entry(issued, 'keyCompromise', plus(NOW, -60))],
    });
    const read = readCrl(crl.der);
    expect(read.revoked.size).toBe(1);
    expect(read.revoked.get(issued.serialHex)?.reason).toBe('keyCompromise');
  });
});

describe('readCrl', () => {
  it('reads back what buildCrl wrote, and knows which CA signed it', () => {
    const ca = rootCa();
    const other = rootCa(); // the same subject name: how two generated roots look during a rotation
    const issued = leaf(ca, 'frontend');
    const crl = buildCrl(ca, {
      crlNumber: 1234567890123456789n,
      thisUpdate: NOW,
      nextUpdate: plus(NOW, HOUR),
      entries: [
        entry(issued),
        { serialHex: '00:ff', revokedAt: NOW, reason: 'unspecified', notAfter: plus(NOW, HOUR) },
      ],
    });
    const [read] = parseCrls(`junk before\n${crl.pem}`);
    expect(read?.crlNumber).toBe(1234567890123456789n);
    expect(read?.authorityKeyId?.toString('hex')).toBe(ca.subjectKeyIdHex);
    expect(read?.nextUpdate?.getTime()).toBe(crl.nextUpdate.getTime());
    expect(read?.revoked.get(issued.serialHex)).toEqual({
      serialHex: issued.serialHex,
      revokedAt: crl.thisUpdate,
      reason: 'keyCompromise',
    });
    expect(read?.revoked.get('ff')?.reason).toBeUndefined();
    expect(read !== undefined && crlSignedBy(read, ca.certificate)).toBe(true);
    expect(read !== undefined && crlSignedBy(read, other.certificate)).toBe(false);
  });

  it("reads openssl's own v1 CRL (openssl ca -gencrl) with its reasons", () => {
    const pki = opensslPki(tmp.dir);
    const root = pki.selfSigned('gencrl-root', '/CN=Gen Root');
    const a = pki.signed('gencrl-a', '/CN=a', root, {
      section: 'not_ca',
      start: '20250101000000Z',
      end: '20350101000000Z',
    });
    const pem = pki.revokeAndGenCrl('gencrl', root, [a], 'keyCompromise');
    const [read] = parseCrls(pem);
    const serial = /serial=(\w+)/.exec(openssl(['x509', '-noout', '-serial'], a.certPem))?.[1] ?? '';
    expect(read?.revoked.get(serial.toLowerCase())?.reason).toBe('keyCompromise');
    expect(read?.crlNumber).toBeUndefined();
    expect(read !== undefined && crlSignedBy(read, new X509Certificate(root.certPem))).toBe(true);
  });

  it('refuses garbage, a truncated CRL and an unknown critical extension, naming the CRL', () => {
    const ca = rootCa();
    const crl = buildCrl(ca, { crlNumber: 1n, thisUpdate: NOW, nextUpdate: plus(NOW, HOUR), entries: [] });
    expect(() => readCrl(Buffer.from('not a crl'), 'ca.crl: CRL 1')).toThrow(
      /ca\.crl: CRL 1: not a usable X\.509 CRL/,
    );
    expect(() => readCrl(crl.der.subarray(0, crl.der.length - 5))).toThrow(
      expect.objectContaining({ code: 'MTLS_ERR_PKI_CRL_INVALID' }),
    );
    // A delta CRL indicator (critical): a base CRL reader must not use it.
    const tbs = sequence(
      integer(1),
      sequence(Buffer.from('06082a8648ce3d040302', 'hex')),
      sequence(),
      x509Time(NOW),
      explicit(0, sequence(extension('2.5.29.27', true, integer(1)))),
    );
    const delta = sequence(
      tbs,
      sequence(Buffer.from('06082a8648ce3d040302', 'hex')),
      Buffer.from([0x03, 0x01, 0x00]),
    );
    expect(() => readCrl(delta)).toThrow(/critical CRL extension 2\.5\.29\.27 is not supported/);
  });
});

describe('scale', () => {
  it('10,000 entries: openssl parses every one and our reader finds any of them', () => {
    const ca = rootCa();
    const entries: CrlEntry[] = Array.from({ length: 10_000 }, (_, i) => ({
      serialHex: (0x4000_0000_0000_0000_0000_0000_0000_0000n + BigInt(i) * 7919n).toString(16),
      revokedAt: NOW,
      reason: i % 2 === 0 ? 'keyCompromise' : 'superseded',
      notAfter: plus(NOW, HOUR),
    }));
    const crl = buildCrl(ca, { crlNumber: 9n, thisUpdate: NOW, nextUpdate: plus(NOW, HOUR), entries });
    const text = execFileSync('openssl', ['crl', '-noout', '-text'], {
      input: crl.pem,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(text.split('Serial Number: ').length - 1).toBe(10_000);
    const read = readCrl(crl.der);
    expect(read.revoked.size).toBe(10_000);
    expect(read.revoked.has(entries[4321]?.serialHex ?? '')).toBe(true);
  });
});
