import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateRootCa } from '../../src/pki/ca.js';
import { readSubjectPublicKey, spkiOfCsr } from '../../src/pki/csr.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { issueLeafForKey } from '../../src/pki/issue-for-key.js';
import { stubCsr } from '../rotator/signer/requests.js';
import { INIT_IMPLEMENTATIONS, type InitImplementation } from './init-impls.js';
import { crlRevoking } from '../pki/helpers.js';

const now = new Date();
// Back-dated a day so that a leaf issued two hours ago (and expired since) can come from it.
const ca = generateRootCa({
  keyAlgorithm: 'ecdsa-p256',
  trustDomain: 'cluster.local',
  lifetimeSeconds: 86_400 * 30,
  now: new Date(now.getTime() - 86_400_000),
});
const podEnv = {
  MTLS_POD_NAMESPACE: 'shop',
  MTLS_POD_SERVICE_ACCOUNT: 'web',
  MTLS_INJECTOR_INIT_WAIT_TIMEOUT: '0s',
};

function leaf(spiffeId: string, options: { now?: Date; lifetimeSeconds?: number } = {}) {
  return issueLeaf(ca, {
    spiffeId,
    keyAlgorithm: 'ecdsa-p256',
    lifetimeSeconds: options.lifetimeSeconds ?? 3600,
    backdateSeconds: 60,
    now: options.now ?? now,
  });
}

type MountedFiles = { cert?: string; key?: string; ca?: string; crl?: string };

/** Writes the given files into dir, as the kubelet's volume would hold them. */
function write(dir: string, files: MountedFiles): void {
  if (files.crl !== undefined) writeFileSync(join(dir, 'ca.crl'), files.crl);
  if (files.cert !== undefined) writeFileSync(join(dir, 'tls.crt'), files.cert);
  if (files.key !== undefined) writeFileSync(join(dir, 'tls.key'), files.key);
  if (files.ca !== undefined) writeFileSync(join(dir, 'ca.crt'), files.ca);
}

function mounted(files: MountedFiles): string {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-init-'));
  write(dir, files);
  return dir;
}

/** The files arrive 300 ms after the init has started waiting (the rotator writes or repairs the Secret). */
function arriveLater(dir: string, files: MountedFiles): void {
  setTimeout(() => write(dir, files), 300);
}

describe.each(INIT_IMPLEMENTATIONS.map((impl) => [impl.name, impl] as const))(
  '%s',
  (_label, impl: InitImplementation) => {
    it('accepts the pod’s own valid identity, and again on a second run (sandbox restart)', async () => {
      const good = leaf('spiffe://cluster.local/ns/shop/sa/web');
      const dir = mounted({ cert: good.certPem, key: good.keyPem, ca: ca.trustBundlePem });
      for (let i = 0; i < 2; i++) {
        const result = await impl.run(dir, podEnv);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('identity spiffe://cluster.local/ns/shop/sa/web verified');
      }
    });

    it.each([
      [
        'someone else’s identity',
        () => leaf('spiffe://cluster.local/ns/shop/sa/admin'),
        undefined,
        'wrong_identity',
      ],
      [
        'an expired certificate',
        () => leaf('spiffe://cluster.local/ns/shop/sa/web', { now: new Date(now.getTime() - 7200_000) }),
        undefined,
        'expired',
      ],
      [
        'a key that does not match',
        () => leaf('spiffe://cluster.local/ns/shop/sa/web'),
        leaf('spiffe://cluster.local/ns/shop/sa/web').keyPem,
        'key_mismatch',
      ],
    ])('refuses %s with a message a person can act on', async (_name, make, otherKey, code) => {
      const issued = make();
      const dir = mounted({ cert: issued.certPem, key: otherKey ?? issued.keyPem, ca: ca.trustBundlePem });
      const result = await impl.run(dir, podEnv);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${code}:`);
      expect(result.stderr).toContain('mtls-injector check');
      expect(result.stderr).not.toContain('BEGIN');
    });

    it('refuses a chain from another CA', async () => {
      const other = generateRootCa({
        keyAlgorithm: 'ecdsa-p256',
        trustDomain: 'cluster.local',
        lifetimeSeconds: 86_400,
        now,
      });
      const issued = leaf('spiffe://cluster.local/ns/shop/sa/web');
      const dir = mounted({ cert: issued.certPem, key: issued.keyPem, ca: other.trustBundlePem });
      const result = await impl.run(dir, podEnv);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('untrusted:');
    });

    it('names the missing files after the wait', async () => {
      const dir = mounted({});
      const result = await impl.run(dir, podEnv);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /tls\.crt, .*tls\.key, .*ca\.crt not present after 0s; is the mtls-injector rotator running/,
      );
    });

    it('waits for files that arrive after it starts', async () => {
      const dir = mounted({});
      const good = leaf('spiffe://cluster.local/ns/shop/sa/web');
      arriveLater(dir, { cert: good.certPem, key: good.keyPem, ca: ca.trustBundlePem });
      const result = await impl.run(dir, { ...podEnv, MTLS_INJECTOR_INIT_WAIT_TIMEOUT: '20s' });
      expect(result.code).toBe(0);
    });

    it('says which downward-API env is missing', async () => {
      const result = await impl.run(mounted({}), { MTLS_INJECTOR_INIT_WAIT_TIMEOUT: '0s' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('expected env MTLS_POD_NAMESPACE and MTLS_POD_SERVICE_ACCOUNT');
    });
  },
);

describe.each(INIT_IMPLEMENTATIONS.map((impl) => [impl.name, impl] as const))(
  '%s with ca.crl',
  (_label, impl: InitImplementation) => {
    const web = 'spiffe://cluster.local/ns/shop/sa/web';
    const crlOf = (revoked: readonly { serialHex: string; notAfter: Date }[], nextUpdate?: Date) =>
      crlRevoking(ca, revoked, now, { crlNumber: 12n, ...(nextUpdate === undefined ? {} : { nextUpdate }) })
        .pem;

    /** A mounted volume with the leaf, its key, ca.crt and this ca.crl. */
    const withCrl = (l: { certPem: string; keyPem: string }, crl: string): string =>
      mounted({ cert: l.certPem, key: l.keyPem, ca: ca.trustBundlePem, crl });

    it('refuses a certificate on its issuer’s CRL, naming the serial and the reason', async () => {
      const revoked = leaf(web);
      const dir = withCrl(revoked, crlOf([revoked]));
      const result = await impl.run(dir, podEnv);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `(serial ${revoked.serialHex}) is revoked: it is on its issuer's CRL in ca.crl (keyCompromise`,
      );
      expect(result.stdout).toBe('');
    });

    it('refuses a revoked pod certificate as the kubelet writes it (its own key, ca.crl from the ConfigMap)', async () => {
      // The podCertificate layout: the kubelet's PKCS#8 key (openssl here), the signer's leaf for its public key.
      const { csr, keyPem } = stubCsr('ECDSAP256');
      const podCert = issueLeafForKey(ca, {
        spiffeId: web,
        dnsNames: [],
        publicKey: readSubjectPublicKey(spkiOfCsr(Buffer.from(csr, 'base64'))),
        notBefore: new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000),
        notAfter: new Date(Math.floor(now.getTime() / 1000) * 1000 + 3_600_000),
      });
      const files = { cert: podCert.certPem, key: keyPem, ca: ca.trustBundlePem };
      const fine = await impl.run(mounted(files), podEnv);
      expect(fine.code).toBe(0);
      const revoked = await impl.run(mounted({ ...files, crl: crlOf([podCert]) }), podEnv);
      expect(revoked.code).toBe(1);
      expect(revoked.stderr).toContain(`(serial ${podCert.serialHex}) is revoked`);
    });

    it('accepts a certificate the CRL does not list, and says so', async () => {
      const good = leaf(web);
      const dir = withCrl(good, crlOf([leaf(web)]));
      const result = await impl.run(dir, podEnv);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/not on the CRL \(number 12, next update /);
    });

    it('starts the app once the reissued certificate arrives during the wait', async () => {
      const revoked = leaf(web);
      const reissued = leaf(web);
      const crl = crlOf([revoked]);
      const dir = mounted({ cert: revoked.certPem, key: revoked.keyPem, ca: ca.trustBundlePem, crl });
      arriveLater(dir, { cert: reissued.certPem, key: reissued.keyPem });
      const result = await impl.run(dir, { ...podEnv, MTLS_INJECTOR_INIT_WAIT_TIMEOUT: '20s' });
      expect(result.code).toBe(0);
    });

    it('refuses an unreadable ca.crl rather than skip the check', async () => {
      const good = leaf(web);
      const dir = withCrl(good, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
      const result = await impl.run(dir, podEnv);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/ca\.crl: CRL 1: not a usable X\.509 CRL/);
    });

    it('starts with a warning when the CRL is past its nextUpdate (the identity itself is fine)', async () => {
      const good = leaf(web);
      const stale = crlOf([], new Date(now.getTime() - 1000));
      const dir = mounted({ cert: good.certPem, key: good.keyPem, ca: ca.trustBundlePem, crl: stale });
      const result = await impl.run(dir, podEnv);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/mtls-init: warning: ca\.crl: the CRL's nextUpdate .* has passed/);
    });
  },
);
