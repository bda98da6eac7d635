import { describe, expect, it } from 'vitest';
import {
  authorityKeyIdExtension,
  distinguishedName,
  extension,
  Oid,
  randomSerial,
  subjectKeyIdExtension,
  VERSION_V3,
} from '../../src/pki/certificate.js';
import { bitString, explicit, oid, sequence, x509Time } from '../../src/pki/der.js';
import { encodeCertificate, encodeLeafTbs, type LeafFields } from '../../src/pki/leaf-encoder.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { implicitPrimitive, openssl } from './helpers.js';

const key = generateKeyPair('ecdsa-p256');
const base: LeafFields = {
  serial: randomSerial(),
  signatureAlgorithm: sequence(oid(Oid.ecdsaWithSha256)),
  issuerName: distinguishedName([[Oid.commonName, 'issuer']]),
  validity: sequence(x509Time(new Date('2026-01-01T00:00:00Z')), x509Time(new Date('2051-01-01T00:00:00Z'))),
  organization: 'cluster.local',
  commonName: 'sa.ns',
  spki: key.spki,
  fixedExtensions: extension(Oid.basicConstraints, true, sequence()),
  subjectKeyId: Buffer.alloc(20, 7),
  authorityKeyIdExtension: authorityKeyIdExtension(Buffer.alloc(20, 9)),
  uri: 'spiffe://cluster.local/ns/ns/sa/sa',
  dnsNames: ['a', 'a.ns.svc'],
  sanCritical: false,
};

/** The same TBSCertificate through the generic DER writer. */
function generic(f: LeafFields): Buffer {
  const names = [
    ...(f.uri === undefined ? [] : [implicitPrimitive(6, Buffer.from(f.uri))]),
    ...f.dnsNames.map((n) => implicitPrimitive(2, Buffer.from(n))),
  ];
  return sequence(
    VERSION_V3,
    f.serial,
    f.signatureAlgorithm,
    f.issuerName,
    f.validity,
    distinguishedName([
      [Oid.organization, f.organization],
      [Oid.commonName, f.commonName],
    ]),
    f.spki,
    explicit(
      3,
      sequence(
        f.fixedExtensions,
        subjectKeyIdExtension(f.subjectKeyId),
        f.authorityKeyIdExtension,
        extension(Oid.subjectAltName, f.sanCritical, sequence(...names)),
      ),
    ),
  );
}

describe('encodeLeafTbs', () => {
  it.each([
    ['the usual shape', base],
    [
      'an empty subject with a critical SAN',
      { ...base, organization: '', commonName: '', sanCritical: true },
    ],
    ['DNS names only', { ...base, uri: undefined, organization: '' }],
    ['a URI only, O only', { ...base, dnsNames: [], commonName: '' }],
    ['a non-ASCII subject', { ...base, organization: 'Zürich', commonName: 'café' }],
    ['a 127-byte name (short length form edge)', { ...base, dnsNames: ['x'.repeat(127)] }],
    ['a 128-byte name (first long form)', { ...base, dnsNames: ['x'.repeat(128)] }],
    ['SANs past 255 bytes', { ...base, dnsNames: ['a'.repeat(200), 'b'.repeat(200)] }],
    [
      'SANs past 64 KiB',
      { ...base, dnsNames: Array.from({ length: 300 }, (_, i) => `${'n'.repeat(240)}${i}`) },
    ],
  ])('matches the generic DER writer byte for byte: %s', (_, fields) => {
    const fast = encodeLeafTbs(fields);
    expect(fast.toString('hex')).toBe(generic(fields).toString('hex'));
  });

  it('wraps a signature into a Certificate openssl can parse', () => {
    const tbs = encodeLeafTbs(base);
    const signature = Buffer.alloc(72, 1);
    const cert = encodeCertificate(tbs, base.signatureAlgorithm, signature);
    expect(cert.equals(sequence(tbs, base.signatureAlgorithm, bitString(signature)))).toBe(true);
    const text = openssl(['x509', '-inform', 'DER', '-noout', '-text'], cert);
    expect(text).toContain('Subject: O = cluster.local, CN = sa.ns');
    expect(text).toContain('Not After : Jan  1 00:00:00 2051 GMT');
    expect(text).toContain('URI:spiffe://cluster.local/ns/ns/sa/sa, DNS:a, DNS:a.ns.svc');
  });
});
