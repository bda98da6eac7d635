/**
 * A leaf for a key the product never holds (Pod Certificates): openssl makes the key pairs and the PKCS#10
 * requests a kubelet would send, our reader takes the public key out, and openssl checks the result.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateRootCa } from '../../src/pki/ca.js';
import { readSubjectPublicKey, spkiOfCsr } from '../../src/pki/csr.js';
import { issueLeafForKey } from '../../src/pki/issue-for-key.js';
import { readCertificateInfo } from '../../src/pki/certificate-info.js';
import { splitPem } from '../../src/pki/pem.js';
import { openssl, opensslExtensions, tempDir } from './helpers.js';

const tmp = tempDir('mtls-csr-');
afterAll(() => tmp.cleanup());

/** A private key of openssl's making and the DER stub CSR (empty subject) for it, as the kubelet sends one. */
function keyAndCsr(name: string, genpkey: readonly string[]): { keyPem: string; csr: Buffer } {
  const keyFile = tmp.path(`${name}.key`);
  openssl(['genpkey', ...genpkey, '-out', keyFile]);
  const csrFile = tmp.path(`${name}.csr`);
  openssl(['req', '-new', '-key', keyFile, '-subj', '/', '-outform', 'DER', '-out', csrFile]);
  return {
    keyPem: openssl(['pkey', '-in', keyFile]),
    csr: Buffer.from(openssl(['base64', '-A', '-in', csrFile]), 'base64'),
  };
}

const KEYS = {
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  p521: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
  ed25519: ['-algorithm', 'ED25519'],
  rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  rsa3072: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
} as const;

describe('readSubjectPublicKey(spkiOfCsr(...)): the key type of a PKCS#10 request made by openssl', () => {
  it.each([
    ['p256', 'ECDSAP256', 'ECDSA P-256'],
    ['p384', 'ECDSAP384', 'ECDSA P-384'],
    ['p521', 'ECDSAP521', 'ECDSA P-521'],
    ['ed25519', 'ED25519', 'Ed25519'],
    ['rsa3072', 'RSA3072', 'RSA 3072-bit'],
    ['rsa2048', undefined, 'RSA 2048-bit'],
  ] as const)('%s → %s', (name, keyType, description) => {
    const { keyPem, csr } = keyAndCsr(name, KEYS[name]);
    const key = readSubjectPublicKey(spkiOfCsr(csr));
    expect(key.keyType).toBe(keyType);
    expect(key.description).toBe(description);
    // The SPKI we took out is byte for byte the one openssl derives from the private key.
    const spkiPem = openssl(['pkey', '-pubout'], keyPem);
    expect(key.spki.toString('base64')).toBe(spkiPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''));
  });

  it('refuses bytes that are not a PKCS#10 request, naming the field', () => {
    expect(() => spkiOfCsr(Buffer.from('not der'))).toThrow(/MTLS_ERR_PKI_ENCODING|stubPKCS10Request|DER/);
    expect(() => spkiOfCsr(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]))).toThrow(/CertificationRequestInfo/);
  });
});

describe('issueLeafForKey: an X509-SVID for the requester key, verified by openssl', () => {
  const ca = generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: 365 * 86_400,
    now: new Date('2026-01-01T00:00:00Z'),
  });

  it.each(['p256', 'ed25519', 'rsa3072'] as const)(
    '%s: chains to the CA, names the identity, exact validity',
    (name) => {
      const { keyPem, csr } = keyAndCsr(`leaf-${name}`, KEYS[name]);
      const notBefore = new Date('2026-03-01T10:00:00Z');
      const notAfter = new Date('2026-03-02T10:00:00Z');
      const leaf = issueLeafForKey(ca, {
        spiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
        dnsNames: ['web.shop.svc'],
        publicKey: readSubjectPublicKey(spkiOfCsr(csr)),
        notBefore,
        notAfter,
      });
      const caFile = tmp.path(`ca-${name}.pem`);
      openssl(['x509', '-out', caFile], ca.certPem);
      expect(
        openssl(
          ['verify', '-CAfile', caFile, '-attime', String(Date.parse('2026-03-01T12:00:00Z') / 1000)],
          leaf.certPem,
        ),
      ).toContain('OK');
      // The certificate's public key is the requester's own.
      expect(openssl(['x509', '-noout', '-pubkey'], leaf.certPem)).toBe(openssl(['pkey', '-pubout'], keyPem));
      const [first] = splitPem(leaf.certPem, 'leaf');
      const info = readCertificateInfo(first?.der ?? Buffer.alloc(0));
      expect(info.uris).toEqual(['spiffe://cluster.local/ns/shop/sa/web']);
      expect(info.dnsNames).toEqual(['web.shop.svc']);
      expect(info.notBefore).toEqual(notBefore);
      expect(info.notAfter).toEqual(notAfter);
      const usage = opensslExtensions(leaf.certPem)['X509v3 Key Usage']?.value;
      expect(usage).toBe(name === 'rsa3072' ? 'Digital Signature, Key Encipherment' : 'Digital Signature');
    },
  );

  it('refuses a validity outside the CA or not on whole seconds', () => {
    const publicKey = readSubjectPublicKey(spkiOfCsr(keyAndCsr('bounds', KEYS.p256).csr));
    const base = { spiffeId: 'spiffe://cluster.local/ns/a/sa/b', dnsNames: [], publicKey };
    expect(() =>
      issueLeafForKey(ca, {
        ...base,
        notBefore: new Date('2025-12-31T00:00:00Z'),
        notAfter: new Date('2026-01-02T00:00:00Z'),
      }),
    ).toThrow(/outside the CA/);
    expect(() =>
      issueLeafForKey(ca, {
        ...base,
        notBefore: new Date('2026-02-01T00:00:00.500Z'),
        notAfter: new Date('2026-02-02T00:00:00Z'),
      }),
    ).toThrow(/whole seconds/);
  });
});
