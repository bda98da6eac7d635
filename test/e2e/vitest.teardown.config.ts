import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The teardown suite (scripts/e2e/test.sh runs it after the e2e suites): it takes the cluster down itself and
// checks that nothing is left, so it runs on its own, last.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/teardown/*.teardown.test.ts'],
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: '.vitest/e2e-teardown.json' }]]
      : ['default'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
