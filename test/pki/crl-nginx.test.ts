/**
 * nginx as the relying party, configured the way docs/revocation.md tells users to (`ssl_verify_client on`,
 * `ssl_client_certificate ca.crt`, `ssl_crl ca.crl`), with the files laid out like the mounted Secret; curl
 * holds a pod's certificate. The revoked certificate gets nginx's 400, the reissued one a 200, also when
 * ca.crl holds the CRLs of two CAs (a CA rotation).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type CertificateAuthority, generateRootCa } from '../../src/pki/ca.js';
import { issueWorkloadIdentity, type IssuedLeaf } from '../../src/pki/issue.js';
import { describeWithTools, TOOLS } from '../tools.js';
import { crlRevoking, tempDir } from './helpers.js';

const tmp = tempDir('mtls-crl-nginx-');
const running: ChildProcess[] = [];
afterAll(() => {
  for (const child of running) child.kill('SIGTERM');
  tmp.cleanup();
});

const now = new Date();

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

function crlPem(ca: CertificateAuthority, revoked: readonly IssuedLeaf[]): string {
  return crlRevoking(ca, revoked, now).pem;
}

let dirs = 0;
function files(leaf: IssuedLeaf, bundlePem: string, crl?: string): string {
  const dir = join(tmp.dir, `d${++dirs}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'tls.crt'), leaf.certPem);
  writeFileSync(join(dir, 'tls.key'), leaf.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), bundlePem);
  if (crl !== undefined) writeFileSync(join(dir, 'ca.crl'), crl);
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** nginx in the foreground with the documented server block, serving the mounted files of `dir`. */
async function startNginx(dir: string): Promise<number> {
  const port = await freePort();
  mkdirSync(join(dir, 'tmp'));
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate        ${dir}/tls.crt;
    ssl_certificate_key    ${dir}/tls.key;
    ssl_client_certificate ${dir}/ca.crt;
    ssl_verify_client      on;
    ssl_crl                ${dir}/ca.crl;
    location / { return 200 "hello $ssl_client_s_dn\\n"; }
  }
}
`,
  );
  const child = spawn(TOOLS.nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.push(child);
  let errors = '';
  child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${errors}`);
    const listening = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (listening) return port;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port}: ${errors}`);
}

/** curl with the client's files; the HTTP status and body. */
function curl(port: number, clientDir: string): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      [
        '-sk',
        '--cert',
        join(clientDir, 'tls.crt'),
        '--key',
        join(clientDir, 'tls.key'),
        '-w',
        '\n%{http_code}',
        `https://127.0.0.1:${port}/`,
      ],
      (err, stdout) => {
        if (err !== null && stdout === '') {
          reject(new Error(`curl failed: ${err.message}`));
          return;
        }
        const lines = stdout.trimEnd().split('\n');
        resolve({ status: lines.pop() ?? '', body: lines.join('\n') });
      },
    );
  });
}

describeWithTools(['nginx'], 'nginx with ssl_crl ca.crl', () => {
  it('refuses the revoked client certificate and serves the same pod’s reissued one', async () => {
    const ca = rootCa();
    const revoked = issue(ca, 'frontend');
    const reissued = issue(ca, 'frontend');
    const port = await startNginx(files(issue(ca, 'backend'), ca.trustBundlePem, crlPem(ca, [revoked])));
    const refused = await curl(port, files(revoked, ca.trustBundlePem));
    expect(refused.status).toBe('400');
    expect(refused.body).toContain('The SSL certificate error');
    const served = await curl(port, files(reissued, ca.trustBundlePem));
    expect(served.status).toBe('200');
    expect(served.body.trim()).toBe('hello CN=frontend.demo,O=cluster.local');
  });

  it('reads every CRL of ca.crl: during a CA rotation both CAs are judged', async () => {
    const old = rootCa();
    const next = rootCa();
    const bundle = old.trustBundlePem + next.trustBundlePem;
    const revokedNew = issue(next, 'frontend');
    const port = await startNginx(
      files(issue(old, 'backend'), bundle, crlPem(old, []) + crlPem(next, [revokedNew])),
    );
    expect((await curl(port, files(revokedNew, bundle))).status).toBe('400');
    expect((await curl(port, files(issue(next, 'frontend'), bundle))).status).toBe('200');
    expect((await curl(port, files(issue(old, 'frontend'), bundle))).status).toBe('200');
  });
});
