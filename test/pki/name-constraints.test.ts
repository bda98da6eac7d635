/**
 * `ca.nameConstraints`: a generated root with a critical NameConstraints extension may only certify the
 * cluster's `.svc` names, the webhook's extra names and SPIFFE URIs of its trust domain. openssl, an
 * independent verifier, accepts leaves inside those names and refuses one naming a public DNS name or another
 * trust domain. (Short DNS SANs like `web.dev`, issued only with dnsShortNames, are exactly what it refuses.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import { isInjectorError } from '../../src/core/errors.js';
import { generateRootCa } from '../../src/pki/ca.js';
import { issueLeaf } from '../../src/pki/issue.js';
import { permittedNamesOf } from '../../src/rotator/ca-manager.js';
import { openssl, opensslExtensions, opensslStatus, tempDir, writeFiles } from './helpers.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const tmp = tempDir('mtls-nc-test-');
afterAll(() => tmp.cleanup());

const config = loadConfig({
  flags: { 'ca.nameConstraints': 'true', 'webhook.extraDnsNames': 'localhost' },
});
const ca = generateRootCa({
  keyAlgorithm: 'ecdsa-p256',
  trustDomain: 'cluster.local',
  lifetimeSeconds: 86_400 * 365,
  now: NOW,
  permittedNames: permittedNamesOf(config),
});

/** openssl verify of a leaf for `spiffeId` (if any) and `dnsNames` against the constrained root. */
function verify(
  name: string,
  spiffeId: string | undefined,
  dnsNames: string[],
): { status: number; out: string } {
  const leaf = issueLeaf(ca, {
    spiffeId,
    dnsNames,
    keyAlgorithm: 'ecdsa-p256',
    lifetimeSeconds: 3600,
    backdateSeconds: 60,
    now: NOW,
  });
  const files = writeFiles(tmp.dir, { 'root.crt': ca.certPem, [`${name}.crt`]: leaf.certPem });
  return opensslStatus([
    'verify',
    '-attime',
    String(NOW.getTime() / 1000),
    '-CAfile',
    files['root.crt'] ?? '',
    files[`${name}.crt`] ?? '',
  ]);
}

describe('name constraints on a generated root (ca.nameConstraints)', () => {
  it('are critical and permit .svc, .svc.<clusterDomain>, the extra names and the trust domain', () => {
    expect(permittedNamesOf(config)).toEqual({
      dnsNames: ['svc', 'svc.cluster.local', 'localhost'],
      uriHosts: ['cluster.local'],
    });
    const ext = opensslExtensions(ca.certPem)['X509v3 Name Constraints'];
    expect(ext?.critical).toBe(true);
    expect(ext?.value).toBe('Permitted:\nDNS:svc\nDNS:svc.cluster.local\nDNS:localhost\nURI:cluster.local');
    expect(openssl(['x509', '-noout', '-subject'], ca.certPem)).toContain('mtls-injector root CA');
  });

  it('let openssl verify the leaves the product issues by default', () => {
    expect(
      verify('workload', 'spiffe://cluster.local/ns/shop/sa/web', [
        'web.shop.svc',
        'web.shop.svc.cluster.local',
      ]),
    ).toMatchObject({ status: 0 });
    expect(
      verify('webhook', undefined, ['mtls-injector-webhook.mtls-injector.svc', 'localhost']),
    ).toMatchObject({ status: 0 });
  });

  it('make openssl refuse a public DNS name and another trust domain', () => {
    const publicName = verify('public', 'spiffe://cluster.local/ns/dev/sa/web', ['web.dev']);
    expect(publicName.status).not.toBe(0);
    expect(publicName.out).toMatch(/permitted subtree violation/);
    const otherDomain = verify('other', 'spiffe://evil.example/ns/shop/sa/web', []);
    expect(otherDomain.status).not.toBe(0);
    expect(otherDomain.out).toMatch(/permitted subtree violation/);
  });

  it('are off by default, and refused together with dnsShortNames', () => {
    expect(permittedNamesOf(loadConfig({}))).toBeUndefined();
    let problem = '';
    try {
      loadConfig({ flags: { 'ca.nameConstraints': 'true', dnsShortNames: 'true' } });
    } catch (err) {
      if (isInjectorError(err)) problem = err.message;
    }
    expect(problem).toContain('ca.nameConstraints: cannot be combined with dnsShortNames');
  });
});
