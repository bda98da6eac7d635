import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isInjectorError } from '../../src/core/errors.js';
import {
  bundleContains,
  bundleFingerprints,
  mergeBundles,
  parseBundle,
  removeFromBundle,
} from '../../src/pki/bundle.js';
import { generateRootCa } from '../../src/pki/ca.js';

const now = new Date();
const root = (td: string) =>
  generateRootCa({ keyAlgorithm: 'ecdsa-p256', trustDomain: td, lifetimeSeconds: 86_400, now });

describe('trust bundles', () => {
  const oldRoot = root('cluster.local');
  const newRoot = root('cluster.local');
  const other = root('other.example');

  it('merges in first-seen order and drops duplicates by fingerprint', () => {
    const merged = mergeBundles(
      oldRoot.certPem,
      `${newRoot.certPem}\r\n${oldRoot.certPem}`,
      '',
      newRoot.certPem,
    );
    expect(bundleFingerprints(merged)).toEqual([
      oldRoot.certificate.fingerprint256,
      newRoot.certificate.fingerprint256,
    ]);
    expect(merged).toBe(oldRoot.certPem + newRoot.certPem);
  });

  it('answers membership by certificate or PEM, and removes one root', () => {
    const bundle = mergeBundles(oldRoot.certPem, newRoot.certPem);
    expect(bundleContains(bundle, oldRoot.certificate)).toBe(true);
    expect(bundleContains(bundle, newRoot.certPem)).toBe(true);
    expect(bundleContains(bundle, other.certificate)).toBe(false);
    const after = removeFromBundle(bundle, oldRoot.certificate);
    expect(bundleFingerprints(after)).toEqual([newRoot.certificate.fingerprint256]);
    expect(removeFromBundle(after, other.certPem)).toBe(after);
  });

  it('parses every certificate and ignores other blocks', () => {
    const certs = parseBundle(`# roots\n${oldRoot.certPem}${oldRoot.keyPem}${other.certPem}`);
    expect(certs.map((c) => c instanceof X509Certificate && c.subject)).toEqual([
      'O=cluster.local\nCN=mtls-injector root CA',
      'O=other.example\nCN=mtls-injector root CA',
    ]);
  });

  it('refuses empty or unparsable bundles with BAD_PEM, naming the input', () => {
    for (const [input, message] of [
      ['', /^trust bundle: expected at least one CERTIFICATE block/],
      [oldRoot.keyPem, /^trust bundle: expected at least one CERTIFICATE block/],
      [
        '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
        /^trust bundle: certificate 1 cannot be parsed/,
      ],
    ] as const) {
      let thrown: unknown;
      try {
        parseBundle(input);
      } catch (err) {
        thrown = err;
      }
      expect(isInjectorError(thrown, 'MTLS_ERR_PKI_BAD_PEM')).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
    expect(() => mergeBundles(oldRoot.certPem, 'garbage')).toThrow(/^trust bundle 2: expected at least one/);
  });
});
