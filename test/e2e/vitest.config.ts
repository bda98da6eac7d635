import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// End-to-end suites against the real control plane started by scripts/e2e/up.sh (npm run test:e2e).
// They share one cluster, so files run one at a time; timeouts allow for a slow 2-core machine.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/*.e2e.test.ts'],
    // test/e2e/disruptive/ takes the product's own pods away: vitest.disruptive.config.ts runs it afterwards.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest/e2e.json' }]] : ['default'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
