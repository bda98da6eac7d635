import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The e2e test app (test/e2e/app/mtls-app.mjs) on this machine, with certificates made by openssl: real TLS
// handshakes between its `serve` and `call` modes, so the cluster tests can trust what it logs.
const app = fileURLToPath(new URL('../e2e/app/mtls-app.mjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'mtls-app-test-'));
const children: ChildProcess[] = [];

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: work, stdio: 'ignore' });
}

/** A CA in work/NAME.{key,crt}. */
function ca(name: string): void {
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1']
      .concat(['-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`])
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']),
  );
}

/** A leaf for `spiffe` (and `dns`) signed by CA `issuer`, laid out like the mounted Secret in work/DIR. */
function identity(dir: string, issuer: string, spiffe: string, dns: string[] = []): string {
  const path = join(work, dir);
  mkdirSync(path, { recursive: true });
  const san = [`URI:${spiffe}`, ...dns.map((d) => `DNS:${d}`)].join(',');
  openssl(
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/O=test',
    ].concat(['-keyout', join(dir, 'tls.key'), '-out', join(dir, 'leaf.csr')]),
  );
  writeFileSync(join(path, 'ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl(
    ['x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`].concat([
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      join(dir, 'tls.crt'),
      '-extfile',
      join(dir, 'ext'),
    ]),
  );
  copyFileSync(join(work, `${issuer}.crt`), join(path, 'ca.crt'));
  return path;
}

type Line = Record<string, unknown>;

/** Starts the app; `lines` collects its JSON lines; `next(event)` resolves with the next line of that event. */
function start(args: readonly string[]): {
  lines: Line[];
  next: (event: string) => Promise<Line>;
  done: Promise<number>;
} {
  const child = spawn(process.execPath, [app, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: Line[] = [];
  const waiters: { event: string; resolve: (l: Line) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Line;
    lines.push(line);
    const i = waiters.findIndex((w) => w.event === line.event);
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(line);
  });
  const done = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return { lines, next: (event) => new Promise((resolve) => waiters.push({ event, resolve })), done };
}

async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(done()).toBe(true);
}

let port = 0;
let server: ReturnType<typeof start>;

beforeAll(async () => {
  ca('root');
  ca('other');
  identity('server', 'root', 'spiffe://test.local/ns/app/sa/server', ['server.app.svc']);
  identity('client', 'root', 'spiffe://test.local/ns/app/sa/client');
  identity('foreign', 'other', 'spiffe://test.local/ns/app/sa/client');
  // The impostor trusts the real CA, so the refusal can only be the server's.
  copyFileSync(join(work, 'root.crt'), join(work, 'foreign', 'ca.crt'));
  server = start(['serve', '--port', '0', '--dir', join(work, 'server')]);
  port = Number((await server.next('listening')).port);
});

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const call = (dir: string, url = `https://server.app.svc:${port}/`) =>
  start([
    'call',
    '--url',
    url,
    '--address',
    '127.0.0.1',
    '--count',
    '2',
    '--interval',
    '50',
    '--dir',
    join(work, dir),
  ]);

describe('the e2e test app', () => {
  it('whoami prints the SPIFFE ID and serial of the mounted certificate and checks the key matches', async () => {
    const who = start(['whoami', '--dir', join(work, 'client')]);
    const line = await who.next('whoami');
    const serial = execFileSync(
      'openssl',
      ['x509', '-in', join(work, 'client/tls.crt'), '-noout', '-serial'],
      {
        encoding: 'utf8',
      },
    );
    expect(line).toMatchObject({ spiffeId: 'spiffe://test.local/ns/app/sa/client', keyMatches: true });
    // Which root of ca.crt issued it, by fingerprint: the root's, as openssl computes it.
    const fingerprint = execFileSync(
      'openssl',
      ['x509', '-in', join(work, 'root.crt'), '-noout', '-fingerprint', '-sha256'],
      { encoding: 'utf8' },
    )
      .trim()
      .replace(/^.*=/, '');
    expect(line.issuedBy).toEqual([fingerprint]);
    expect(line.roots).toEqual([fingerprint]);
    expect(`serial=${String(line.serial)}`.toUpperCase()).toBe(serial.trim().toUpperCase());
    expect(await who.done).toBe(0);
  });

  it('completes mTLS with hostname verification; the server logs the client SPIFFE ID', async () => {
    const client = call('client');
    expect(await client.done).toBe(0);
    const calls = client.lines.filter((l) => l.event === 'call');
    expect(calls).toHaveLength(2);
    for (const c of calls)
      expect(c).toMatchObject({ ok: true, status: 200, peer: 'spiffe://test.local/ns/app/sa/server' });
    expect(client.lines.at(-1)).toMatchObject({ event: 'summary', attempted: 2, failed: 0 });
    expect(server.lines.filter((l) => l.event === 'handshake').map((l) => l.peer)).toContain(
      'spiffe://test.local/ns/app/sa/client',
    );
  });

  it('refuses a client certificate from another CA, and a server name the certificate does not carry', async () => {
    const foreign = call('foreign');
    expect(await foreign.done).toBe(0);
    expect(foreign.lines.filter((l) => l.event === 'call').every((l) => l.ok === false)).toBe(true);
    expect(foreign.lines.at(-1)).toMatchObject({ event: 'summary', attempted: 2, failed: 2 });
    // The server says why: the certificate did not verify against its ca.crt (not a bare reset).
    await waitUntil(() => server.lines.some((l) => l.event === 'handshake-refused'));
    const [unknownCa] = server.lines.filter((l) => l.event === 'handshake-refused');
    expect(unknownCa).toMatchObject({ peer: 'spiffe://test.local/ns/app/sa/client' });
    expect(String(unknownCa?.code)).toMatch(/UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)/);

    // No certificate at all: the server requires one.
    const refusedBefore = server.lines.filter((l) => l.event === 'handshake-refused').length;
    const anonymous = start([
      'call',
      '--url',
      `https://server.app.svc:${port}/`,
      '--address',
      '127.0.0.1',
      '--count',
      '1',
      '--anonymous',
    ]);
    expect(await anonymous.done).toBe(0);
    expect(anonymous.lines.find((l) => l.event === 'call')).toMatchObject({ ok: false });
    expect(anonymous.lines.at(-1)).toMatchObject({ event: 'summary', attempted: 1, failed: 1 });
    await waitUntil(() => server.lines.filter((l) => l.event === 'handshake-refused').length > refusedBefore);
    expect(server.lines.filter((l) => l.event === 'handshake-refused').at(-1)).toMatchObject({
      code: 'NO_CLIENT_CERTIFICATE',
    });

    const wrongName = call('client', `https://elsewhere.app.svc:${port}/`);
    expect(await wrongName.done).toBe(0);
    const [first] = wrongName.lines.filter((l) => l.event === 'call');
    expect(first).toMatchObject({ ok: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('with --allow, refuses a verified client whose SPIFFE ID is not listed', async () => {
    const picky = start([
      'serve',
      '--port',
      '0',
      '--dir',
      join(work, 'server'),
      '--allow',
      'spiffe://test.local/ns/app/sa/frontend',
    ]);
    const pickyPort = Number((await picky.next('listening')).port);
    const client = call('client', `https://server.app.svc:${pickyPort}/`);
    expect(await client.done).toBe(0);
    expect(client.lines.filter((l) => l.event === 'call').every((l) => l.ok === false)).toBe(true);
    await waitUntil(() => picky.lines.some((l) => l.event === 'handshake-refused'));
    expect(picky.lines.find((l) => l.event === 'handshake-refused')).toMatchObject({
      code: 'SPIFFE_ID_NOT_ALLOWED',
      peer: 'spiffe://test.local/ns/app/sa/client',
    });
    expect(picky.lines.some((l) => l.event === 'handshake')).toBe(false);
  });

  it('serves a renewed certificate as soon as the files change, without a restart', async () => {
    const before = (
      await (async () => {
        const c = call('client');
        await c.done;
        return c.lines.find((l) => l.event === 'call');
      })()
    )?.peerSerial;
    const reloaded = server.next('reloaded');
    identity('server', 'root', 'spiffe://test.local/ns/app/sa/server', ['server.app.svc']);
    const event = await reloaded;
    expect(event.previousSerial).toBe(before);
    const after = call('client');
    await after.done;
    const peerSerials = after.lines.filter((l) => l.event === 'call').map((l) => l.peerSerial);
    expect(peerSerials).toEqual([event.serverSerial, event.serverSerial]);
    expect(event.serverSerial).not.toBe(before);
  });
});
