import { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ClusterFacts } from '../core/delivery.js';
import { excludedNamespaces, injectionSettings } from '../config/injection.js';
import { createLogger } from '../observability/logger.js';
import { type ProbeServer, type Readiness, startProbeServer } from '../observability/probe-server.js';
import { createWebhookMetrics, type WebhookMetrics } from '../observability/metrics.js';
import { buildWebhookApp, type ServerLimits } from './app.js';
import { loadDeliveryFacts } from './delivery-facts.js';
import { loadServingCertificate, type ServingCertificate } from './serving-cert.js';

/** What the webhook process is made of; everything optional has a production default. */
export interface WebhookDeps {
  readonly logger?: Logger;
  readonly metrics?: WebhookMetrics;
  readonly randomSuffix?: () => string;
  readonly limits?: Partial<ServerLimits>;
  /** Poll interval of the serving-cert files (default 10 s); directory watches react sooner. */
  readonly certPollIntervalMs?: number;
  readonly watchCertificates?: boolean;
  /** Waits out webhook.shutdownDelay on close (default: a timer). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A listening webhook. `close()` stops accepting, lets in-flight reviews finish, then resolves. */
export interface RunningWebhook {
  readonly port: number;
  readonly probePort: number;
  readonly app: FastifyInstance;
  readonly certificate: ServingCertificate;
  readonly metrics: WebhookMetrics;
  close(): Promise<void>;
}

/**
 * Starts the webhook: HTTPS on `config.webhook.port` with the cert and key from `config.webhook.tlsCert` /
 * `tlsKey` (reloaded when the files change), and probes plus metrics on plain HTTP `config.webhook.probePort`.
 * Port 0 picks a free port (see `port` / `probePort`). `/readyz` is 503 until the certificate has loaded and
 * again once closing has begun.
 */
export async function startWebhookServer(config: Config, deps: WebhookDeps = {}): Promise<RunningWebhook> {
  const logger = deps.logger ?? createLogger({ level: config.log.level, component: 'webhook' });
  const metrics = deps.metrics ?? createWebhookMetrics();
  // The HTTPS server exists only once the app is built; the first load happens before that.
  const live: { server?: unknown } = {};
  let closing = false;
  let stopping = false;

  const certificate = await loadServingCertificate({
    certFile: config.webhook.tlsCert,
    keyFile: config.webhook.tlsKey,
    logger,
    metrics,
    ...(deps.certPollIntervalMs === undefined ? {} : { pollIntervalMs: deps.certPollIntervalMs }),
    ...(deps.watchCertificates === undefined ? {} : { watch: deps.watchCertificates }),
    onChange: (pair) => {
      const server = live.server;
      if (server instanceof HttpsServer) server.setSecureContext({ cert: pair.cert, key: pair.key });
    },
  });
  const initial = certificate.current();
  const facts = await loadDeliveryFacts({
    file: config.webhook.deliveryFactsFile,
    logger,
    ...(deps.certPollIntervalMs === undefined ? {} : { pollIntervalMs: deps.certPollIntervalMs }),
    ...(deps.watchCertificates === undefined ? {} : { watch: deps.watchCertificates }),
  });

  // The settings with the current delivery facts, rebuilt only when the facts change (not per review).
  const settings = injectionSettings(config);
  let seen: ClusterFacts | undefined;
  let current = settings;
  const app = buildWebhookApp({
    settings,
    currentSettings: () => {
      const now = facts.current();
      if (now !== seen) {
        seen = now;
        current = { ...settings, delivery: { ...settings.delivery, facts: now } };
      }
      return current;
    },
    excludedNamespaces: excludedNamespaces(config),
    bodyLimitBytes: config.webhook.bodyLimitBytes,
    logger,
    metrics,
    ...(deps.randomSuffix === undefined ? {} : { randomSuffix: deps.randomSuffix }),
    ...(deps.limits === undefined ? {} : { limits: deps.limits }),
    https: initial === undefined ? {} : { cert: initial.cert, key: initial.key },
  });
  live.server = app.server;
  // From SIGTERM on, every answer closes its connection (webhook.shutdownDelay): the API server then keeps no
  // idle keep-alive connection to this pod, which it could reuse just as the pod closes it ("connection reset
  // by peer", a refused pod with failurePolicy Fail); its next review opens a new one, which kube-proxy sends
  // to a pod that is not terminating when there is one.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (stopping) void reply.header('connection', 'close');
    return payload;
  });
  const readiness = (): Readiness =>
    closing
      ? { ready: false, reason: 'shutting down' }
      : certificate.current() === undefined
        ? { ready: false, reason: `serving certificate ${config.webhook.tlsCert} not loaded` }
        : { ready: true };

  let probes: ProbeServer;
  try {
    await app.listen({ port: config.webhook.port, host: config.webhook.host });
    probes = await startProbeServer({
      host: config.webhook.host,
      port: config.webhook.probePort,
      registry: metrics.registry,
      readiness,
    });
  } catch (err) {
    certificate.close();
    facts.close();
    await app.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const probePort = probes.port;
  logger.info({ port, probePort, host: config.webhook.host }, 'webhook listening');

  return {
    port,
    probePort,
    app,
    certificate,
    metrics,
    close: async () => {
      if (stopping) return;
      stopping = true;
      // Still ready and serving until the delay is over: the terminating endpoint stays "serving", so
      // kube-proxy keeps routing to it while no other endpoint is ready (helm uninstall deletes every webhook
      // pod before the webhook configuration), and prefers ready pods otherwise (a rolling update). Then
      // not ready, no new connections.
      const delayMs = config.webhook.shutdownDelay * 1000;
      if (delayMs > 0) {
        logger.info(
          { shutdownDelaySeconds: config.webhook.shutdownDelay },
          'webhook terminating, still serving',
        );
        await (deps.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))))(delayMs);
      }
      closing = true;
      logger.info('webhook shutting down: no new connections, finishing in-flight reviews');
      await app.close();
      certificate.close();
      facts.close();
      await probes.close();
      logger.info('webhook stopped');
      logger.flush();
    },
  };
}
