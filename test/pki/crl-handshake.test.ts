/**
 * Real handshakes with the CRL: a node:tls server process configured with ca.crl (as the docs tell apps to)
 * and openssl s_client holding a pod's certificate. The revoked certificate is refused; the same pod's
 * reissued one (same identity, new key and serial) is accepted; the same holds during a CA rotation, where
 * ca.crl carries one CRL per issuing CA.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type CertificateAuthority, generateRootCa } from '../../src/pki/ca.js';
import { issueWorkloadIdentity, type IssuedLeaf } from '../../src/pki/issue.js';
import { crlRevoking, tempDir, writeFiles } from './helpers.js';
import { sClient, startServer } from './tls-harness.js';

const tmp = tempDir('mtls-crl-handshake-');
afterAll(() => tmp.cleanup());

const now = new Date();
let dirs = 0;

function rootCa(): CertificateAuthority {
  return generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: 86_400,
    now,
  });
}

function issue(ca: CertificateAuthority, serviceAccount: string): IssuedLeaf {
  return issueWorkloadIdentity(
    ca,
    { trustDomain: 'cluster.local', namespace: 'demo', serviceAccount },
    { keyAlgorithm: 'ecdsa-p256', lifetimeSeconds: 3600, backdateSeconds: 60, now },
  );
}

/** A directory laid out like the mounted Secret: tls.crt, tls.key, ca.crt and (when given) ca.crl. */
function mounted(leaf: IssuedLeaf, bundlePem: string, crlPem?: string): string {
  const dir = `${tmp.dir}/d${++dirs}`;
  mkdirSync(dir);
  writeFiles(dir, {
    'tls.crt': leaf.certPem,
    'tls.key': leaf.keyPem,
    'ca.crt': bundlePem,
    ...(crlPem === undefined ? {} : { 'ca.crl': crlPem }),
  });
  return dir;
}

function crlPem(ca: CertificateAuthority, revoked: readonly IssuedLeaf[]): string {
  return crlRevoking(ca, revoked, now).pem;
}

/** Dials the server with `clientDir` and says what the server did. */
async function handshake(serverDir: string, clientDir: string, ...flags: string[]) {
  const server = await startServer(serverDir, ...flags);
  try {
    const client = await sClient(server.port, clientDir);
    const outcome = await Promise.race([server.next('accepted'), server.next('rejected')]);
    return { ...outcome, client };
  } finally {
    await server.stop();
  }
}

describe('a node:tls server with ca.crl', () => {
  const ca = rootCa();
  const server = issue(ca, 'backend');
  const revoked = issue(ca, 'frontend');
  const reissued = issue(ca, 'frontend'); // what the rotator writes into the pod's Secret after `revoke`
  const serverDir = mounted(server, ca.trustBundlePem, crlPem(ca, [revoked]));

  it('refuses the client holding the revoked certificate', async () => {
    const result = await handshake(serverDir, mounted(revoked, ca.trustBundlePem));
    expect(result.event).toBe('rejected');
    expect(result.reason).toBe('CERT_REVOKED');
    expect(result.client.out).not.toContain('hello');
  });

  it("accepts the same pod's reissued certificate: same identity, new serial", async () => {
    expect(reissued.serialHex).not.toBe(revoked.serialHex);
    const result = await handshake(serverDir, mounted(reissued, ca.trustBundlePem));
    expect(result.event).toBe('accepted');
    expect(result.peer).toBe('spiffe://cluster.local/ns/demo/sa/frontend');
    expect(result.client.out).toContain('hello spiffe://cluster.local/ns/demo/sa/frontend');
  });
});

describe('during a CA rotation: one CRL per issuing CA in ca.crl', () => {
  const old = rootCa();
  const next = rootCa();
  const bundle = old.trustBundlePem + next.trustBundlePem;
  const server = issue(old, 'backend');
  const revokedNew = issue(next, 'frontend');
  const freshNew = issue(next, 'frontend');
  const freshOld = issue(old, 'frontend');
  const bothCrls = crlPem(old, []) + crlPem(next, [revokedNew]);
  const serverDir = mounted(server, bundle, bothCrls);

  it.each([
    ['a revoked certificate of the new CA is refused', revokedNew, 'rejected', 'CERT_REVOKED'],
    ['a good certificate of the new CA is accepted', freshNew, 'accepted', undefined],
    ['a good certificate of the old CA is accepted', freshOld, 'accepted', undefined],
  ] as const)('%s', async (_name, client, event, reason) => {
    const result = await handshake(serverDir, mounted(client, bundle));
    expect(result.event).toBe(event);
    expect(result.reason).toBe(reason);
  });

  it('given ca.crl as one string, node:tls loads only its first CRL and refuses the second CA (split it)', async () => {
    const result = await handshake(serverDir, mounted(freshNew, bundle), '--crl-as-one-string');
    expect(result.event).toBe('rejected');
    expect(result.reason).toBe('UNABLE_TO_GET_CRL');
  });
});
