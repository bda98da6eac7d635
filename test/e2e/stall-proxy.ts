import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateRootCa } from '../../src/pki/ca.js';
import { issueLeaf } from '../../src/pki/issue.js';

/** One request the proxy passed to the API server: method, path, and when (epoch ms). */
export interface Forwarded {
  readonly method: string;
  readonly path: string;
  readonly at: number;
}

/** Writes to the objects only the leader may write (Secrets, the Lease, the trust bundle, the caBundle). */
export function isStateWrite(f: Forwarded): boolean {
  return (
    ['POST', 'PUT', 'PATCH', 'DELETE'].includes(f.method) &&
    /\/(secrets|leases|configmaps|mutatingwebhookconfigurations)(\/|\?|$)/.test(f.path)
  );
}

/**
 * A proxy between one client (a rotator run as a local process) and the API server that a test can freeze:
 * while frozen, nothing passes in either direction: requests are held (not sent), and responses already
 * streaming (watches) stop, while every connection stays open; the client sees a connection that has gone
 * silent, as when its peer vanished. A held request whose client gives up (closes the connection) is
 * dropped, as bytes lost in a partition are. When the proxy thaws, held requests whose client still waits are
 * sent, late. The client speaks HTTPS to the proxy at https://localhost:<port> (trusting `caPem`, a root made
 * for this proxy), so it runs exactly as against an API server; the proxy speaks HTTPS to the API server
 * (verifying it with `ca`) and records each request it sends on (`forwarded`).
 */
export class StallProxy {
  readonly forwarded: Forwarded[] = [];
  /** The root the proxy's serving certificate (for `localhost`) chains to: the client's kubeconfig CA. */
  readonly caPem: string;
  private readonly serving: { cert: string; key: string };
  private frozen = false;
  private readonly held = new Set<() => void>();
  private readonly streams = new Set<IncomingMessage>();
  private server: Server | undefined;

  constructor(private readonly upstream: { host: string; port: number; ca: string }) {
    const now = new Date();
    const root = generateRootCa({
      keyAlgorithm: 'ecdsa-p256',
      trustDomain: 'stall-proxy.test',
      lifetimeSeconds: 86_400,
      now,
    });
    const leaf = issueLeaf(root, {
      dnsNames: ['localhost'],
      keyAlgorithm: 'ecdsa-p256',
      lifetimeSeconds: 86_400,
      backdateSeconds: 60,
      now,
    });
    this.caPem = root.certPem;
    this.serving = { cert: leaf.certPem, key: leaf.keyPem };
  }

  /** Listens on 127.0.0.1; answers the port. */
  async start(): Promise<number> {
    this.server = createServer(this.serving, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return (this.server?.address() as AddressInfo).port;
  }

  freeze(): void {
    this.frozen = true;
    for (const s of this.streams) s.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const s of this.streams) s.resume();
    const waiting = [...this.held];
    this.held.clear();
    for (const send of waiting) send();
  }

  async stop(): Promise<void> {
    this.thaw();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let gone = false;
    res.on('close', () => (gone = true));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (): void => {
        if (gone) return; // the client gave up while we held it: the request is lost, never delivered
        this.forward(req, res, Buffer.concat(chunks));
      };
      if (this.frozen) this.held.add(send);
      else send();
    });
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    this.forwarded.push({ method: req.method ?? '', path: req.url ?? '', at: Date.now() });
    const headers = { ...req.headers, host: `${this.upstream.host}:${this.upstream.port}` };
    const up = httpsRequest(
      {
        host: this.upstream.host,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers,
        ca: this.upstream.ca,
      },
      (answer) => {
        this.streams.add(answer);
        if (this.frozen) answer.pause();
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders(); // a watch may send no byte for minutes: its client needs the headers now
        answer.pipe(res);
        answer.on('close', () => this.streams.delete(answer));
        res.on('close', () => answer.destroy());
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    up.end(body);
  }
}
