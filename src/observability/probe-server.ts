import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Readiness with a reason, so `/readyz` tells an operator what is missing. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** A listening probe server. */
export interface ProbeServer {
  readonly port: number;
  /** Drops open connections and stops listening. */
  close(): Promise<void>;
}

/**
 * The plain-HTTP probe and metrics server of the webhook and the rotator, apart from any serving port:
 * `/healthz` (the process serves), `/readyz` (from `readiness()`, with the reason when not ready), `/metrics`
 * (Prometheus text from `registry`). GET and HEAD only. Resolves once listening; port 0 picks a free port.
 */
export async function startProbeServer(options: {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly readiness: () => Readiness;
}): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const state = options.readiness();
      res
        .writeHead(state.ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(state.ready ? 'ok\n' : `not ready: ${state.reason}\n`);
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (err: unknown) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
