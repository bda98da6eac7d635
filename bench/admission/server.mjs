// One server of the admission benchmark, in its own process so that its CPU time can be read from
// /proc/<pid>/stat and its garbage collector sees only its own work. Started by bench/admission.mjs with
// `fork(..., [kind])` and told what to serve over IPC:
//
//   ours   the webhook exactly as production starts it (`startWebhookServer`, the production logger writing
//          one JSON line per review to stdout, which the parent reads as a container runtime would)
//   floor  the floor of the stack: a fastify HTTPS route that parses the same review with fastify's own JSON
//          parser and answers `response`, our real answer to that review, byte for byte
//
// The parent sends { certFile, keyFile, response? } and gets back { port, probePort?, pid }; 'stop' closes the
// server and exits.
import { readFileSync } from 'node:fs';

const kind = process.argv[2];
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

process.once('message', (job) => {
  start(job).then(
    (server) => {
      process.send({ ...server.address, pid: process.pid });
      process.on('message', (message) => {
        if (message !== 'stop') return;
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    },
    (err) => {
      process.send({ error: String(err?.stack ?? err) }, () => process.exit(1));
    },
  );
});

async function start({ certFile, keyFile, response }) {
  if (kind === 'ours') {
    const { loadConfig } = await import('../../dist/config/loader.js');
    const { startWebhookServer } = await import('../../dist/webhook/server.js');
    const base = loadConfig({ env: {} });
    const config = {
      ...base,
      webhook: {
        ...base.webhook,
        port: 0,
        probePort: 0,
        host: '127.0.0.1',
        tlsCert: certFile,
        tlsKey: keyFile,
      },
    };
    const webhook = await startWebhookServer(config);
    return { address: { port: webhook.port, probePort: webhook.probePort }, close: () => webhook.close() };
  }
  if (kind === 'floor') {
    if (typeof response !== 'string') throw new Error('the floor needs the response bytes to answer');
    const { default: fastify } = await import('fastify');
    const app = fastify({
      logger: false,
      https: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') },
    });
    app.post('/mutate', (_request, reply) => reply.type(JSON_CONTENT_TYPE).send(response));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { address: { port: app.server.address().port }, close: () => app.close() };
  }
  throw new Error(`unknown server kind ${JSON.stringify(kind)}: expected ours or floor`);
}
