/**
 * The webhook app in process (fastify inject, no socket): how each decision is logged. A review that fails
 * open is a warning; a skip that merely carries a warning for the user (opt-out, Windows) is not.
 */
import { describe, expect, it } from 'vitest';
import { createWebhookMetrics } from '../../src/observability/metrics.js';
import { buildWebhookApp } from '../../src/webhook/app.js';
import { EXCLUDED, podReview, SETTINGS, simplePod } from '../core/helpers.js';
import { captureLogger } from './helpers.js';

async function logged(pod: unknown, failOpen: boolean): Promise<Record<string, unknown>> {
  const logs = captureLogger();
  const app = buildWebhookApp({
    settings: { ...SETTINGS, failOpen },
    excludedNamespaces: EXCLUDED,
    bodyLimitBytes: 6 * 1024 * 1024,
    logger: logs.logger,
    metrics: createWebhookMetrics({ processMetrics: false }),
    randomSuffix: () => 'x7k2pmq4wz',
  });
  const res = await app.inject({ method: 'POST', url: '/mutate', payload: podReview(pod) });
  expect(res.statusCode).toBe(200);
  await app.close();
  const line = logs.lines().find((l) => l['msg'] === 'admission review');
  if (line === undefined) throw new Error('no admission review log line');
  return line;
}

const WARN = 40;
const INFO = 30;

describe('admission log level', () => {
  it('warns when a pod is allowed because the webhook fails open', async () => {
    const malformed = { ...simplePod(), spec: { containers: [] } };
    expect(await logged(malformed, true)).toMatchObject({
      level: WARN,
      decision: 'skip',
      reason: 'malformed_pod',
    });
    expect(await logged(malformed, false)).toMatchObject({
      level: WARN,
      decision: 'deny',
      reason: 'malformed_pod',
    });
  });

  it('logs a Windows skip and an opt-out at info, though their warnings read "not injected"', async () => {
    const windows = simplePod('win');
    windows['spec'] = { ...(windows['spec'] as object), os: { name: 'windows' } };
    const line = await logged(windows, true);
    expect(line).toMatchObject({ level: INFO, decision: 'skip', reason: 'windows_unsupported' });
    expect(String((line['warnings'] as string[])[0])).toContain('not injected:');

    const optOut = simplePod('out');
    (optOut['metadata'] as Record<string, unknown>)['annotations'] = { 'mtls-injector.io/inject': 'false' };
    expect(await logged(optOut, true)).toMatchObject({ level: INFO, decision: 'skip', reason: 'opted_out' });
  });
});
