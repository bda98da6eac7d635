import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The worker processes for the e2e files (MTLS_E2E_WORKERS, default 3; 1 runs them one at a time). Most of an
 * e2e file's time is waiting on the cluster (renewals, the kubelet's sync, CA propagation), not CPU, so files
 * overlap their waits.
 */
const workers = Math.max(1, Number(process.env.MTLS_E2E_WORKERS ?? '3') || 1);

// End-to-end suites against the real control plane started by scripts/e2e/up.sh (npm run test:e2e). They share
// one cluster: each works in namespaces of its own and holds test/e2e/cluster-lock.ts shared, and the tests that
// change the cluster's CA (the run's one rotation: test/e2e/rotation-under-traffic.ts, driven by
// pod-certificates.e2e.test.ts, or by live-traffic.e2e.test.ts on a release without Pod Certificates) hold it
// exclusively, so files run side by side except around them. Suites that take the product's own pods away or change the install run afterwards, alone
// (vitest.disruptive.config.ts). Timeouts allow for a slow, shared 2-core machine.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/*.e2e.test.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest/e2e.json' }]] : ['default'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: workers > 1,
    maxWorkers: workers,
  },
});
