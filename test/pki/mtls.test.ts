import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyAlgorithm } from '../../src/core/key-algorithm.js';
import { type CertificateAuthority, generateRootCa } from '../../src/pki/ca.js';
import { issueWorkloadIdentity } from '../../src/pki/issue.js';
import { tempDir, writeFiles } from './helpers.js';
import { sClient, startServer } from './tls-harness.js';

const tmp = tempDir('mtls-handshake-');
afterAll(() => tmp.cleanup());

/** Issues an identity into its own directory (tls.crt, tls.key, ca.crt), like a mounted Secret. */
function identityDir(
  ca: CertificateAuthority,
  name: string,
  serviceAccount: string,
  keyAlgorithm: KeyAlgorithm,
): string {
  const leaf = issueWorkloadIdentity(
    ca,
    { trustDomain: 'cluster.local', namespace: 'demo', serviceAccount },
    { keyAlgorithm, lifetimeSeconds: 3600, backdateSeconds: 60, now: new Date() },
  );
  const dir = `${tmp.dir}/${name}`;
  mkdirSync(dir, { recursive: true });
  writeFiles(dir, { 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem, 'ca.crt': ca.trustBundlePem });
  return dir;
}

describe('mutual TLS between two processes with issued identities', () => {
  const ca = generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: 86_400,
    now: new Date(),
  });
  const pairs: [KeyAlgorithm, KeyAlgorithm][] = [
    ['ecdsa-p256', 'ecdsa-p256'],
    ['ed25519', 'rsa-2048'],
    ['rsa-3072', 'ed25519'],
  ];

  it.each(pairs)(
    'node:tls server (%s) sees the SPIFFE ID of an openssl s_client (%s)',
    async (serverAlg, clientAlg) => {
      const backend = identityDir(ca, `backend-${serverAlg}`, 'backend', serverAlg);
      const frontend = identityDir(ca, `frontend-${clientAlg}`, 'frontend', clientAlg);
      const server = await startServer(backend);
      try {
        const client = await sClient(server.port, frontend);
        const accepted = await server.next('accepted');
        expect(accepted.peer).toBe('spiffe://cluster.local/ns/demo/sa/frontend');
        expect(accepted.protocol).toBe('TLSv1.3');
        expect(client.out).toContain('Verification: OK');
        expect(client.out).toContain('Peer certificate: O = cluster.local, CN = backend.demo');
        expect(client.out).toContain(
          'hello spiffe://cluster.local/ns/demo/sa/frontend from spiffe://cluster.local/ns/demo/sa/backend',
        );
        // node:tls ends the connection without close_notify, which OpenSSL 3 reports as an unexpected EOF
        // after the data arrived; the handshake and the exchange are what count here.
        expect(client.out).not.toMatch(/alert/i);
      } finally {
        await server.stop();
      }
    },
  );

  it('refuses a client whose certificate comes from another CA', async () => {
    const otherCa = generateRootCa({
      keyAlgorithm: 'ecdsa-p256',
      trustDomain: 'cluster.local',
      lifetimeSeconds: 86_400,
      now: new Date(),
    });
    const backend = identityDir(ca, 'backend-refuse', 'backend', 'ecdsa-p256');
    const intruder = identityDir(otherCa, 'intruder', 'frontend', 'ecdsa-p256');
    // The intruder trusts our CA (it knows the server), but its own certificate is from elsewhere.
    writeFiles(intruder, { 'ca.crt': ca.trustBundlePem });
    const server = await startServer(backend);
    try {
      const client = await sClient(server.port, intruder);
      const rejected = await server.next('rejected');
      expect(rejected.reason).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      expect(client.out).not.toContain('hello');
      expect(client.status).not.toBe(0);
    } finally {
      await server.stop();
    }
  });
});
