import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The disruptive suites (scripts/e2e/test.sh runs them after the others, before the teardown suite): they
// delete or scale the product's own pods, or upgrade, uninstall and reinstall its release, so nothing else
// may run beside them. Each leaves the product installed and ready as it found it.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/disruptive/*.e2e.test.ts'],
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: '.vitest/e2e-disruptive.json' }]]
      : ['default'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
