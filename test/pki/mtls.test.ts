import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyAlgorithm } from '../../src/core/key-algorithm.js';
import { type CertificateAuthority, generateRootCa } from '../../src/pki/ca.js';
import { issueWorkloadIdentity } from '../../src/pki/issue.js';
import { tempDir, writeFiles } from './helpers.js';

const SERVER = fileURLToPath(new URL('./tls-server.mjs', import.meta.url));
const tmp = tempDir('mtls-handshake-');
afterAll(() => tmp.cleanup());

interface ServerEvent {
  event: 'listening' | 'accepted' | 'rejected';
  port?: number;
  peer?: string;
  protocol?: string;
  cipher?: string;
  reason?: string;
}

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

/** Starts the server process and resolves with its port and an event reader. */
async function startServer(dir: string) {
  const child: ChildProcessByStdio<Writable, Readable, null> = spawn(process.execPath, [SERVER, dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events: ServerEvent[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line) as ServerEvent);
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async (kind: ServerEvent['event']): Promise<ServerEvent> => {
    for (;;) {
      const found = events.find((e) => e.event === kind);
      if (found !== undefined) {
        events.splice(events.indexOf(found), 1);
        return found;
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const { port } = await next('listening');
  return {
    port: port as number,
    next,
    stop: () =>
      new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/** openssl s_client as the calling workload; resolves with its exit status and output. */
function sClient(port: number, dir: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-cert',
      `${dir}/tls.crt`,
      '-key',
      `${dir}/tls.key`,
      '-CAfile',
      `${dir}/ca.crt`,
      '-verify_return_error',
      '-brief',
      '-ign_eof',
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end();
    child.on('close', (status) => resolve({ status, out }));
  });
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
