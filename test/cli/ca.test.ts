import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerCa } from '../../src/cli/ca.js';
import type { CliContext } from '../../src/cli/context.js';
import { isInjectorError } from '../../src/core/errors.js';
import { openssl, opensslExtensions, tempDir } from '../pki/helpers.js';
import { opensslPki } from '../pki/openssl-pki.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mtls-injector <args>` in-process with the exit-code mapping of src/main.ts. */
async function cli(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  const ctx: CliContext = {
    env: {},
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    signal: new AbortController().signal,
    version: '0.0.0-test',
    readStdin: () => Promise.resolve(''),
  };
  let code = 0;
  const program = new Command('mtls-injector')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  registerCa(program, ctx, (c) => (code = c));
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return { code: err.exitCode === 0 ? 0 : 2, stdout, stderr };
    if (!isInjectorError(err)) throw err;
    return { code: 1, stdout, stderr: `${stderr}error: ${err.message} [${err.code}]\n` };
  }
  return { code, stdout, stderr };
}

const mode = (path: string): number => statSync(path).mode & 0o777;
const tmp = tempDir('mtls-cli-ca-');
afterAll(() => tmp.cleanup());

describe('mtls-injector ca init', () => {
  it('writes ca.crt and ca.key (0600) for the trust domain and key algorithm given', async () => {
    const dir = join(tmp.dir, 'init');
    const run = await cli(
      'ca',
      'init',
      '--dir',
      dir,
      '--trust-domain',
      'example.org',
      '--key-algorithm',
      'ed25519',
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^created root CA for trust domain example.org \(ed25519, Ed25519\)/);
    expect(mode(join(dir, 'ca.key'))).toBe(0o600);
    expect(mode(join(dir, 'ca.crt'))).toBe(0o644);
    expect(mode(dir)).toBe(0o700);
    const cert = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    expect(cert.subject).toBe('O=example.org\nCN=mtls-injector root CA');
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(readFileSync(join(dir, 'ca.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(run.stdout).not.toContain('PRIVATE KEY');
  });

  it('refuses to overwrite an existing CA unless --force', async () => {
    const dir = join(tmp.dir, 'overwrite');
    expect((await cli('ca', 'init', '--dir', dir)).code).toBe(0);
    const before = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const refused = await cli('ca', 'init', '--dir', dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `error: ${join(dir, 'ca.crt')} already exists; refusing to overwrite an existing CA`,
    );
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(before);
    const forced = await cli('ca', 'init', '--dir', dir, '--force', '--ca-key-algorithm', 'rsa-2048');
    expect(forced.code).toBe(0);
    const after = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    expect(after.publicKey.asymmetricKeyType).toBe('rsa');
    expect(mode(join(dir, 'ca.key'))).toBe(0o600);
  });

  it('names a bad value and exits non-zero', async () => {
    const run = await cli('ca', 'init', '--dir', join(tmp.dir, 'bad'), '--key-algorithm', 'rsa-1024');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /ca.keyAlgorithm \(flag\): expected one of ecdsa-p256, rsa-2048, rsa-3072, ed25519, got "rsa-1024"/,
    );
    expect(existsSync(join(tmp.dir, 'bad', 'ca.key'))).toBe(false);
    const td = await cli('ca', 'init', '--dir', join(tmp.dir, 'bad'), '--trust-domain', 'Not Valid');
    expect(td.code).toBe(1);
    expect(td.stderr).toMatch(/trustDomain \(flag\): expected lowercase letters.*got "Not Valid"/);
  });
});

describe('mtls-injector ca issue', () => {
  const caDir = join(tmp.dir, 'issuing-ca');

  it('writes tls.crt, tls.key (0600) and ca.crt that openssl verifies', async () => {
    expect((await cli('ca', 'init', '--dir', caDir)).code).toBe(0);
    const out = join(tmp.dir, 'frontend');
    const run = await cli(
      'ca',
      'issue',
      '--dir',
      caDir,
      '--namespace',
      'demo',
      '--service-account',
      'frontend',
      '--out',
      out,
      '--dns',
      'frontend',
      '--dns',
      'frontend.demo.svc',
      '--leaf-lifetime',
      '1h',
      '--key-algorithm',
      'rsa-2048',
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(
      /^issued spiffe:\/\/cluster.local\/ns\/demo\/sa\/frontend \(rsa-2048, serial [0-9a-f]{32}\)/,
    );
    expect(run.stdout).toContain('DNS names frontend, frontend.demo.svc');
    expect(mode(join(out, 'tls.key'))).toBe(0o600);
    expect(readFileSync(join(out, 'ca.crt'), 'utf8')).toBe(readFileSync(join(caDir, 'ca.crt'), 'utf8'));
    expect(openssl(['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')])).toMatch(/: OK\n$/);
    const leafPem = readFileSync(join(out, 'tls.crt'), 'utf8');
    expect(opensslExtensions(leafPem)['X509v3 Subject Alternative Name']?.value).toBe(
      'URI:spiffe://cluster.local/ns/demo/sa/frontend, DNS:frontend, DNS:frontend.demo.svc',
    );
    const cert = new X509Certificate(leafPem);
    expect((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 1000).toBe(3600 + 60);
    expect(openssl(['pkey', '-pubout', '-in', join(out, 'tls.key')])).toBe(
      openssl(['x509', '-noout', '-pubkey', '-in', join(out, 'tls.crt')]),
    );
  });

  it.each([
    ['--namespace', 'Demo_1', /namespace "Demo_1" is not a DNS-1123 label/],
    ['--service-account', 'b/admin', /serviceAccount "b\/admin" is not a DNS-1123 subdomain/],
    ['--dns', 'bad_name', /dnsNames\[0\] "bad_name" is not a DNS name/],
    ['--leaf-lifetime', 'forever', /leafLifetime \(flag\): expected a duration.*got "forever"/],
  ])('names a bad %s value and writes nothing', async (flag, value, message) => {
    const out = join(tmp.dir, `bad-${flag.slice(2)}`);
    const args = { '--namespace': 'demo', '--service-account': 'sa', [flag]: value };
    const run = await cli('ca', 'issue', '--dir', caDir, '--out', out, ...Object.entries(args).flat());
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('says how to create a missing CA', async () => {
    const missing = join(tmp.dir, 'no-ca');
    const run = await cli(
      'ca',
      'issue',
      '--dir',
      missing,
      '--namespace',
      'a',
      '--service-account',
      'b',
      '--out',
      join(tmp.dir, 'x'),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `cannot read ${join(missing, 'ca.crt')} (ENOENT); create a CA first with: mtls-injector ca init --dir ${missing}`,
    );
  });

  it('reports a missing required option as a usage error', async () => {
    const run = await cli('ca', 'issue', '--dir', caDir, '--out', join(tmp.dir, 'x'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/required option '--namespace <ns>' not specified/);
  });

  it('warns when the trust domain differs from the one the CA was made for', async () => {
    const run = await cli(
      'ca',
      'issue',
      '--dir',
      caDir,
      '--namespace',
      'a',
      '--service-account',
      'b',
      '--out',
      join(tmp.dir, 'td'),
      '--trust-domain',
      'other.example',
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      `warning: the CA in ${caDir} was created for trust domain cluster.local; issuing for other.example (pass --trust-domain cluster.local to match)\n`,
    );
  });

  it('issues from a bring-your-own intermediate with --bundle', async () => {
    const pkiDir = join(tmp.dir, 'enterprise');
    mkdirSync(pkiDir);
    const pki = opensslPki(pkiDir);
    const root = pki.selfSigned('root', '/O=Example Corp/CN=Example Root CA');
    const issuing = pki.signed('issuing', '/O=Example Corp/CN=Example Issuing CA', root);
    const byoDir = join(tmp.dir, 'byo');
    mkdirSync(byoDir);
    writeFileSync(join(byoDir, 'ca.crt'), issuing.certPem);
    writeFileSync(join(byoDir, 'ca.key'), issuing.keyPem);
    const out = join(tmp.dir, 'byo-leaf');
    const run = await cli(
      'ca',
      'issue',
      '--dir',
      byoDir,
      '--bundle',
      root.certPath,
      '--namespace',
      'a',
      '--service-account',
      'b',
      '--out',
      out,
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(join(out, 'tls.crt'), 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(
      openssl([
        'verify',
        '-CAfile',
        join(out, 'ca.crt'),
        '-untrusted',
        join(out, 'tls.crt'),
        join(out, 'tls.crt'),
      ]),
    ).toMatch(/: OK\n$/);
    const refused = await cli(
      'ca',
      'issue',
      '--dir',
      byoDir,
      '--namespace',
      'a',
      '--service-account',
      'b',
      '--out',
      out,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /not self-signed and no trust bundle was given.*\[MTLS_ERR_PKI_CA_CHAIN_INVALID\]/,
    );
  });
});

describe('mtls-injector ca --help', () => {
  it.each([
    [
      ['ca', '--help'],
      [/Usage: mtls-injector ca \[options\] \[command\]/, /init \[options\]/, /issue \[options\]/],
    ],
    [
      ['ca', 'init', '--help'],
      [/--dir <dir>/, /--key-algorithm <alg>/, /--force/, /--trust-domain <value>/, /--ca-lifetime <value>/],
    ],
    [
      ['ca', 'issue', '--help'],
      [
        /--namespace <ns>/,
        /--service-account <sa>/,
        /--out <dir>/,
        /--dns <name>/,
        /--bundle <file>/,
        /--leaf-lifetime <value>/,
      ],
    ],
  ])('%j documents its options', async (args, patterns) => {
    const run = await cli(...args);
    expect(run.code).toBe(0);
    for (const pattern of patterns) expect(run.stdout).toMatch(pattern);
  });
});
