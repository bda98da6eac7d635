import { describe, expect, it } from 'vitest';
import {
  bitIsSet,
  bitString,
  boolean,
  childrenOf,
  contentOf,
  explicit,
  generalizedTime,
  ia5String,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  printableString,
  readNode,
  readOid,
  readTime,
  sequence,
  set,
  tlv,
  utcTime,
  utf8String,
  x509Time,
} from '../../src/pki/der.js';
import { isInjectorError } from '../../src/core/errors.js';
import { implicitPrimitive, openssl } from './helpers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('DER writer: known vectors (X.690)', () => {
  it.each([
    [0, '020100'],
    [1, '020101'],
    [127, '02017f'],
    [128, '02020080'],
    [255, '020200ff'],
    [256, '02020100'],
    [65_535, '020300ffff'],
  ])('INTEGER %d', (value, expected) => {
    expect(hex(integer(value))).toBe(expected);
  });

  it('INTEGER from bytes strips leading zeros and keeps it positive', () => {
    expect(hex(integer(Uint8Array.of(0, 0, 0x80)))).toBe('02020080');
    expect(hex(integer(Uint8Array.of(0, 0, 0x7f)))).toBe('02017f');
    expect(hex(integer(Uint8Array.of(0, 0)))).toBe('020100');
    expect(hex(integer(2n ** 64n))).toBe('0209010000000000000000');
    expect(() => integer(-1)).toThrow(/expected >= 0/);
  });

  it.each([
    ['2.5.29.17', '0603551d11'],
    ['1.2.840.113549.1.1.11', '06092a864886f70d01010b'],
    ['1.2.840.10045.4.3.2', '06082a8648ce3d040302'],
    ['1.3.6.1.5.5.7.3.1', '06082b06010505070301'],
    ['1.3.101.112', '06032b6570'],
    ['2.999.3', '0603883703'],
  ])('OID %s', (dotted, expected) => {
    expect(hex(oid(dotted))).toBe(expected);
    expect(readOid(readNode(oid(dotted)))).toBe(dotted);
  });

  it('refuses malformed OIDs', () => {
    expect(() => oid('1')).toThrow(/at least two/);
    expect(() => oid('3.1')).toThrow(/at least two/);
    expect(() => oid('1.40')).toThrow(/at least two/);
    expect(() => oid('1.2.x')).toThrow(/bad arc/);
  });

  it.each([
    [0, '0400'],
    [127, '047f'],
    [128, '048180'],
    [255, '0481ff'],
    [256, '04820100'],
    [65_535, '0482ffff'],
    [65_536, '0483010000'],
  ])('length form for %d content bytes', (length, header) => {
    const der = octetString(Buffer.alloc(length));
    expect(hex(der.subarray(0, header.length / 2))).toBe(header);
    expect(der.length).toBe(header.length / 2 + length);
    const node = readNode(der);
    expect(node.end - node.start).toBe(length);
  });

  it.each([
    [[0], '03020780'], // keyUsage digitalSignature
    [[0, 2], '030205a0'], // + keyEncipherment
    [[5, 6], '03020106'], // keyCertSign + cRLSign
    [[8], '0303070080'], // decipherOnly spills into a second byte
    [[], '030100'],
  ])('named bit list %j drops trailing zero bits', (bits, expected) => {
    expect(hex(namedBits(bits))).toBe(expected);
    for (const bit of bits) expect(bitIsSet(readNode(namedBits(bits)), bit)).toBe(true);
    expect(bitIsSet(readNode(namedBits(bits)), 1)).toBe(false);
  });

  it('BOOLEAN, NULL, BIT STRING, strings', () => {
    expect(hex(boolean(true))).toBe('0101ff');
    expect(hex(boolean(false))).toBe('010100');
    expect(hex(nullValue())).toBe('0500');
    expect(hex(bitString(Uint8Array.of(0xab)))).toBe('030200ab');
    expect(hex(utf8String('é'))).toBe('0c02c3a9');
    expect(hex(printableString('Ab 1'))).toBe('130441622031');
    expect(() => printableString('a@b')).toThrow(/not printable/);
    expect(hex(ia5String('a'))).toBe('160161');
    expect(() => ia5String('é')).toThrow(/not ASCII/);
    expect(hex(explicit(0, integer(2)))).toBe('a003020102');
    expect(hex(implicitPrimitive(2, Buffer.from('a')))).toBe('820161');
    expect(hex(set(integer(1)))).toBe('3103020101');
  });

  it('UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5)', () => {
    const last = new Date('2049-12-31T23:59:59.999Z');
    const first = new Date('2050-01-01T00:00:00Z');
    expect(x509Time(last).toString('latin1', 2)).toBe('491231235959Z');
    expect(x509Time(last)[0]).toBe(0x17);
    expect(x509Time(first).toString('latin1', 2)).toBe('20500101000000Z');
    expect(x509Time(first)[0]).toBe(0x18);
    expect(x509Time(new Date('1950-01-01T00:00:00Z')).toString('latin1', 2)).toBe('500101000000Z');
    expect(x509Time(new Date('1949-12-31T23:59:59Z'))[0]).toBe(0x18);
    expect(() => utcTime(first)).toThrow(/outside 1950/);
    expect(generalizedTime(new Date('0999-01-02T03:04:05Z')).toString('latin1', 2)).toBe('09990102030405Z');
  });

  it('reads back times, with the 50-year UTCTime pivot', () => {
    for (const iso of [
      '1950-01-01T00:00:00Z',
      '2000-02-29T12:34:56Z',
      '2049-12-31T23:59:59Z',
      '2050-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
    ]) {
      expect(readTime(readNode(x509Time(new Date(iso)))).toISOString()).toBe(new Date(iso).toISOString());
    }
    expect(() => readTime(readNode(tlv(0x17, Buffer.from('4912312359Z'))))).toThrow(
      /UTCTime or GeneralizedTime/,
    );
  });

  it('reader walks nested structures and rejects truncation', () => {
    const der = sequence(
      integer(5),
      sequence(oid('2.5.4.3'), utf8String('x')),
      octetString(Buffer.from('hi')),
    );
    const [a, b, c] = childrenOf(readNode(der));
    expect(contentOf(a!)).toEqual(Buffer.from([5]));
    expect(readOid(childrenOf(b!)[0]!)).toBe('2.5.4.3');
    expect(contentOf(c!).toString()).toBe('hi');
    const failures = [
      der.subarray(0, der.length - 1),
      Buffer.from([0x30]),
      Buffer.from([0x04, 0x85, 1, 1, 1, 1, 1]),
    ];
    for (const bad of failures) {
      let thrown: unknown;
      try {
        childrenOf(readNode(bad));
      } catch (err) {
        thrown = err;
      }
      expect(isInjectorError(thrown, 'MTLS_ERR_PKI_ENCODING')).toBe(true);
    }
  });

  it('openssl asn1parse reads a structure using every writer the same way', () => {
    const der = sequence(
      integer(128),
      oid('2.5.29.17'),
      boolean(true),
      nullValue(),
      bitString(Uint8Array.of(1, 2)),
      octetString(Buffer.alloc(300, 7)),
      utf8String('mtls-injector'),
      printableString('US'),
      ia5String('ascii'),
      utcTime(new Date('2049-12-31T23:59:59Z')),
      generalizedTime(new Date('2050-01-01T00:00:00Z')),
      explicit(3, sequence(integer(1))),
      implicitPrimitive(6, Buffer.from('spiffe://td/x')),
    );
    const parsed = openssl(['asn1parse', '-inform', 'DER'], der);
    const lines = parsed
      .trim()
      .split('\n')
      .map((l) =>
        l
          .replace(/^\s*\d+:d=\d+\s+hl=\d+\s+l=\s*\d+\s+/, '')
          .replace(/\s+/g, ' ')
          .trimEnd(),
      );
    expect(lines).toEqual([
      'cons: SEQUENCE',
      'prim: INTEGER :80',
      'prim: OBJECT :X509v3 Subject Alternative Name',
      'prim: BOOLEAN :255',
      'prim: NULL',
      'prim: BIT STRING',
      expect.stringMatching(/^prim: OCTET STRING \[HEX DUMP\]:(07){300}$/),
      'prim: UTF8STRING :mtls-injector',
      'prim: PRINTABLESTRING :US',
      'prim: IA5STRING :ascii',
      'prim: UTCTIME :491231235959Z',
      'prim: GENERALIZEDTIME :20500101000000Z',
      'cons: cont [ 3 ]',
      'cons: SEQUENCE',
      'prim: INTEGER :01',
      'prim: cont [ 6 ]',
    ]);
  });
});
