import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { FastifyServerFactory } from 'fastify';

/**
 * Connection limits. The API server calls with `timeoutSeconds` (5 s in our chart, at most 30 s) and keeps idle
 * connections for 90 s; every limit here is shorter, so slow or idle clients are dropped before they pile up (A17).
 */
export interface ServerLimits {
  /** TLS handshake must finish within this (Node's default is 120 s). */
  readonly handshakeTimeoutMs: number;
  /** Request headers must arrive within this. */
  readonly headersTimeoutMs: number;
  /** The whole request must arrive within this; also the longest `?timeout=` honoured. */
  readonly requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** A socket with no traffic at all is closed after this. */
  readonly idleTimeoutMs: number;
  /** Connections beyond this are refused at accept. */
  readonly maxConnections: number;
  /** How often Node checks the header and request timeouts (its default of 30 s would let them overrun). */
  readonly timeoutCheckIntervalMs: number;
  /** How often requests past their `?timeout=` deadline are looked for and dropped. */
  readonly deadlineSweepMs: number;
}

/** The limits the webhook serves with unless told otherwise. */
export const DEFAULT_LIMITS: ServerLimits = {
  handshakeTimeoutMs: 5_000,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxConnections: 2_048,
  timeoutCheckIntervalMs: 1_000,
  deadlineSweepMs: 100,
};

/**
 * The HTTPS server for the webhook app, made here rather than by fastify so its limits and TLS context are
 * ours to set. Starts with `tls`'s pair when it has both halves (swap it later with `setSecureContext`).
 */
export function httpsServerFactory(
  limits: ServerLimits,
  tls: { readonly cert?: string; readonly key?: string } | undefined,
): FastifyServerFactory {
  return (handler) => {
    const pair = tls?.cert !== undefined && tls.key !== undefined ? tls : undefined;
    const server: HttpsServer = createHttpsServer(
      {
        ...(pair === undefined ? {} : { cert: pair.cert, key: pair.key }),
        minVersion: 'TLSv1.2',
        handshakeTimeout: limits.handshakeTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
        noDelay: true,
      },
      handler,
    );
    server.headersTimeout = limits.headersTimeoutMs;
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    server.maxConnections = limits.maxConnections;
    server.setTimeout(limits.idleTimeoutMs);
    return server;
  };
}
