/**
 * A node:tls server process (test/pki/tls-server.mjs) and openssl s_client as its peer: real mutual-TLS
 * handshakes between two processes over the mounted-Secret file layout.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./tls-server.mjs', import.meta.url));

/** One line the server prints. */
export interface ServerEvent {
  event: 'listening' | 'accepted' | 'rejected';
  port?: number;
  peer?: string;
  protocol?: string;
  cipher?: string;
  reason?: string;
}

/** Starts the server process and resolves with its port and an event reader. */
export async function startServer(dir: string, ...flags: string[]) {
  const child: ChildProcessByStdio<Writable, Readable, null> = spawn(
    process.execPath,
    [SERVER, dir, ...flags],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const events: ServerEvent[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line) as ServerEvent);
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async (kind: ServerEvent['event']): Promise<ServerEvent> => {
    for (;;) {
      const found = events.find((e) => e.event === kind);
      if (found !== undefined) {
        events.splice(events.indexOf(found), 1);
        return found;
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const { port } = await next('listening');
  return {
    port: port as number,
    next,
    stop: () =>
      new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/** openssl s_client as the calling workload; resolves with its exit status and output. */
export function sClient(port: number, dir: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-cert',
      `${dir}/tls.crt`,
      '-key',
      `${dir}/tls.key`,
      '-CAfile',
      `${dir}/ca.crt`,
      '-verify_return_error',
      '-brief',
      '-ign_eof',
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end();
    child.on('close', (status) => resolve({ status, out }));
  });
}
