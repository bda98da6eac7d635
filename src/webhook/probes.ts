import fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/** Readiness with a reason, so `/readyz` tells an operator what is missing. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/**
 * The plain-HTTP probe app, separate from the HTTPS webhook port: `/healthz` (the process serves), `/readyz`
 * (`readiness()`), `/metrics` (Prometheus text of `registry`). Built, not listening.
 */
export function buildProbeApp(options: {
  readonly registry: Registry;
  readonly readiness: () => Readiness;
}): FastifyInstance {
  const app = fastify({ logger: false, requestTimeout: 10_000, connectionTimeout: 30_000 });
  app.get('/healthz', (_request, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', (_request, reply) => {
    const state = options.readiness();
    return state.ready
      ? reply.type('text/plain').send('ok\n')
      : reply.code(503).type('text/plain').send(`not ready: ${state.reason}\n`);
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(text);
  });
  return app;
}
