import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs once before the e2e files (test/e2e/vitest.config.ts): clears the cluster lock of test/e2e/cluster-lock.ts,
 * which a run that was killed may have left held.
 */
export default function setup(): void {
  rmSync(join(fileURLToPath(new URL('../..', import.meta.url)), '.e2e', 'locks'), {
    recursive: true,
    force: true,
  });
}
