// The floor of the stack, for the admission benchmark: a fastify HTTPS route that parses the review with
// fastify's own JSON parser and answers `response` (our real answer to that review, byte for byte). What any
// Node webhook on this stack pays before doing any work of its own. In its own process, so its CPU time can
// be read from /proc/<pid>/stat and its garbage collector sees only its own work.
//
// Started by bench/admission/measure.mjs with `fork()`; gets { certFile, keyFile, response } over IPC, answers
// { port, pid }; 'stop' closes it and exits.
import { readFileSync } from 'node:fs';
import fastify from 'fastify';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

process.once('message', ({ certFile, keyFile, response }) => {
  const app = fastify({
    logger: false,
    https: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') },
  });
  app.post('/mutate', (_request, reply) => reply.type(JSON_CONTENT_TYPE).send(response));
  app.listen({ port: 0, host: '127.0.0.1' }).then(
    () => {
      process.send({ port: app.server.address().port, pid: process.pid });
      process.on('message', (message) => {
        if (message === 'stop') app.close().then(() => process.exit(0));
      });
    },
    (err) => process.send({ error: String(err?.stack ?? err) }, () => process.exit(1)),
  );
});
