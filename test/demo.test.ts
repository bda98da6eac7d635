import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT = existsSync(join(ROOT, 'dist', 'main.js'));
const dir = mkdtempSync(join(tmpdir(), 'mtls-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The README's first command. It runs over dist/, which `npm run verify` builds before the tests.
describe.skipIf(!BUILT)('npm run demo (scripts/demo.mjs over dist/)', () => {
  it('admits three pods, issues the two injected ones, completes mTLS between them and refuses the rest', async () => {
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
