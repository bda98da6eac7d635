import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    // Says once which tools (helm, kubectl, promtool) are missing and which suites are skipped for it.
    globalSetup: ['test/global-setup.ts'],
    // In CI a JSON report feeds scripts/test-summary.mjs, which prints the closing count line
    // (.vitest/unit.json; MTLS_TEST_REPORT names another, e.g. unit-node22 for the run on Node 22).
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: `.vitest/${process.env.MTLS_TEST_REPORT ?? 'unit'}.json` }]]
      : ['default'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
