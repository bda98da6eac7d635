import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mtls-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Sources under src/ whose dist/ output is missing or older than they are. */
function staleBuild(): string[] {
  const stale: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), path).replace(/\.ts$/, '.js'));
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(path).mtimeMs)
          stale.push(relative(ROOT, path));
      }
    }
  };
  walk(join(ROOT, 'src'));
  return stale;
}

// The README's first command. It runs over dist/, which `npm run verify` builds before the tests; a missing or
// stale build fails here instead of testing other code than src/ holds.
describe('npm run demo (scripts/demo.mjs over dist/)', () => {
  it('runs over the build of the current sources', () => {
    expect(staleBuild(), 'dist/ is missing or older than these sources: run `npm run build`').toEqual([]);
  });

  it('admits three pods, issues the two injected ones, completes mTLS between them and refuses the rest', async () => {
    if (staleBuild().length > 0) throw new Error('dist/ is not the build of src/: run `npm run build` first');
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/demo.mjs'], {
      cwd: ROOT,
      env: { ...process.env, MTLS_DEMO_DIR: dir },
    });
    expect(stdout).toMatch(
      /backend\s+allowed=true\s+\d+ patch ops\s+identity spiffe:\/\/cluster\.local\/ns\/demo\/sa\/backend/,
    );
    expect(stdout).toMatch(
      /frontend allowed=true\s+\d+ patch ops\s+identity spiffe:\/\/cluster\.local\/ns\/demo\/sa\/frontend/,
    );
    expect(stdout).toMatch(/legacy\s+allowed=true\s+0 patch ops\s+not injected/);
    expect(stdout).toContain('backend refused the handshake: ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    expect(stdout).toContain('backend saw client   spiffe://cluster.local/ns/demo/sa/frontend');
    expect(stdout).toContain('frontend saw server  spiffe://cluster.local/ns/demo/sa/backend');
    expect(stdout).toMatch(/negotiated\s+TLSv1\.3, TLS_/);
    expect(stdout).toContain('backend refused the handshake: UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(stdout).toMatch(/done: the webhook injected two of three pods/);
    expect(existsSync(join(dir, 'frontend', 'tls.key'))).toBe(true);
  }, 60_000);
});
