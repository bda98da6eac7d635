/** Test helpers for src/pki: temp dirs and the openssl CLI as an independent implementation. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateAuthority } from '../../src/pki/ca.js';
import { buildCrl, type IssuedCrl } from '../../src/pki/crl.js';
import { tlv } from '../../src/pki/der.js';

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'mtls-pki-'): {
  dir: string;
  path: (name: string) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    path: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs openssl; throws with its stderr when it fails. */
export function openssl(args: readonly string[], input?: string | Buffer, cwd?: string): string {
  return execFileSync('openssl', args, {
    input,
    cwd,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs openssl and returns its status and output instead of throwing. */
export function opensslStatus(args: readonly string[], input?: string): { status: number; out: string } {
  const result = spawnSync('openssl', args, { input, encoding: 'utf8' });
  return { status: result.status ?? -1, out: `${result.stdout}${result.stderr}` };
}

/** Writes files into `dir` and returns their paths by name. */
export function writeFiles(dir: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    out[name] = join(dir, name);
    writeFileSync(out[name], content);
  }
  return out;
}

/** The `X509v3 extensions` block of `openssl x509 -text` as { name: { critical, value } }. */
export function opensslExtensions(certPem: string): Record<string, { critical: boolean; value: string }> {
  const text = openssl(['x509', '-noout', '-text'], certPem);
  const block = text.split('X509v3 extensions:')[1]?.split(/\n\s*Signature Algorithm:/)[0] ?? '';
  const out: Record<string, { critical: boolean; value: string }> = {};
  const lines = block.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s{12}(X509v3 [^:]+):( critical)?\s*$/.exec(lines[i] ?? '');
    if (header === null) continue;
    const values: string[] = [];
    while (i + 1 < lines.length && !/^\s{12}X509v3 /.test(lines[i + 1] ?? ''))
      values.push((lines[++i] ?? '').trim());
    out[header[1] ?? ''] = { critical: header[2] !== undefined, value: values.join('\n') };
  }
  return out;
}

/** A date `seconds` from `base`. */
export function plus(base: Date, seconds: number): Date {
  return new Date(base.getTime() + seconds * 1000);
}

/**
 * `[n]` IMPLICIT for a primitive: the content bytes under a context tag (e.g. GeneralName dNSName [2]). The
 * leaf encoder writes these bytes itself; tests build the reference encoding with this.
 */
export function implicitPrimitive(n: number, content: Uint8Array): Buffer {
  return tlv(0x80 | n, content);
}

/**
 * A CRL of `ca` that revokes `revoked` at `now` (issued a minute before it, next update an hour after, unless
 * given), for tests that need a ca.crl: nginx, node:tls, mtls-init.
 */
export function crlRevoking(
  ca: CertificateAuthority,
  revoked: readonly { serialHex: string; notAfter: Date }[],
  now: Date,
  options: { crlNumber?: bigint; nextUpdate?: Date; reason?: 'keyCompromise' | 'superseded' } = {},
): IssuedCrl {
  return buildCrl(ca, {
    crlNumber: options.crlNumber ?? 1n,
    thisUpdate: new Date(now.getTime() - 60_000),
    nextUpdate: options.nextUpdate ?? new Date(now.getTime() + 3_600_000),
    entries: revoked.map((l) => ({
      serialHex: l.serialHex,
      revokedAt: now,
      reason: options.reason ?? 'keyCompromise',
      notAfter: l.notAfter,
    })),
  });
}
