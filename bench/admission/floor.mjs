// The floor of the stack, for the admission benchmark: a fastify HTTPS route that parses the review with
// fastify's own JSON parser and answers `response` (our real answer to that review, byte for byte). What any
// Node webhook on this stack pays before doing any work of its own. In its own process, so its CPU time can
// be read from /proc/<pid>/stat and its garbage collector sees only its own work.
//
// Started by bench/admission/measure.mjs with `fork()`: gets { certFile, keyFile, response } over IPC,
// answers { port, pid }; 'stop' closes it and exits. With `--standalone` (bench/admission/instructions.mjs,
// under valgrind) it reads BENCH_FLOOR_PORT, _CERT, _KEY and _RESPONSE and prints "floor listening".
import { readFileSync } from 'node:fs';
import fastify from 'fastify';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

async function serve({ certFile, keyFile, response, port = 0 }) {
  const app = fastify({
    logger: false,
    https: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') },
  });
  app.post('/mutate', (_request, reply) => reply.type(JSON_CONTENT_TYPE).send(response));
  await app.listen({ port, host: '127.0.0.1' });
  return app;
}

if (process.argv[2] === '--standalone') {
  const env = process.env;
  await serve({
    certFile: env['BENCH_FLOOR_CERT'],
    keyFile: env['BENCH_FLOOR_KEY'],
    response: env['BENCH_FLOOR_RESPONSE'],
    port: Number(env['BENCH_FLOOR_PORT']),
  });
  console.log('floor listening');
} else {
  process.once('message', (job) => {
    serve(job).then(
      (app) => {
        process.send({ port: app.server.address().port, pid: process.pid });
        process.on('message', (message) => {
          if (message === 'stop') app.close().then(() => process.exit(0));
        });
      },
      (err) => process.send({ error: String(err?.stack ?? err) }, () => process.exit(1)),
    );
  });
}
