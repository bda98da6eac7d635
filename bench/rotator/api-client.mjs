// The rotator's side of the scale test's API server (bench/rotator/api-server.mjs, a child process): the
// SecretApi the controller writes through and the list-then-watch transports its watches read, every call
// counted by `resource verb`. Objects arrive as JSON over the IPC channel and are decoded in this process,
// as a client decodes the wire; nothing of the server's store lives in this heap.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KubeApiError } from '../../dist/kube/types.js';
import { listInPages } from '../../dist/kube/list-watch.js';

/** Counts API calls by `resource verb`. */
export function callCounter() {
  const counts = {};
  return {
    count: (what) => {
      counts[what] = (counts[what] ?? 0) + 1;
    },
    snapshot: () => ({ ...counts }),
  };
}

/**
 * Starts the API server process. `clock` is the simulated time (epoch ms) writes are stamped with;
 * `writeTimes` collects the time of every successful create and replace.
 */
export function startApiServer(calls, clock) {
  const child = fork(fileURLToPath(new URL('./api-server.mjs', import.meta.url)), [], {
    execArgv: ['--expose-gc', '--max-old-space-size=8192'],
    serialization: 'json',
  });
  const pending = new Map();
  const watchers = new Set();
  let nextId = 1;
  child.on('message', (message) => {
    if (message.watch !== undefined) {
      for (const w of watchers) w({ type: message.type, object: message.object });
      return;
    }
    const call = pending.get(message.id);
    pending.delete(message.id);
    if (message.error === undefined) call.resolve(message.result);
    else call.reject(new KubeApiError(message.error.status ?? 500, message.error.message));
  });
  child.on('exit', (code) => {
    for (const call of pending.values()) call.reject(new Error(`API server exited (${code})`));
  });
  const request = (op, args = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, op, ...args });
    });
  const writeTimes = [];
  const write = async (op, secret) => {
    const at = clock();
    const written = await request(op, { secret, now: at });
    writeTimes.push(at);
    return written;
  };

  return {
    writeTimes,
    /** Records `n` pods and their Secrets in the server (sealed or not); answers the CA Secret. */
    record: (n, sealed) => request('record', { n, sealed, now: clock() }),
    /** Resolves once every watch event the server sent before it has been handled (the channel is ordered). */
    settle: () => request('ping'),
    /** The server process's memory (after a full GC there). */
    memory: () => request('memory'),
    stop: () => child.disconnect(),
    api: {
      get: async (namespace, name) => {
        calls.count('secrets get');
        return request('get', { namespace, name });
      },
      create: async (secret) => {
        calls.count('secrets create');
        return write('create', secret);
      },
      replace: async (secret) => {
        calls.count('secrets replace');
        return write('replace', secret);
      },
      delete: async (namespace, name) => {
        calls.count('secrets delete');
        await request('delete', { namespace, name });
      },
      list: async () => {
        calls.count('secrets list');
        return request('list');
      },
    },
    /** The list-then-watch of the Secrets: pages of 500, each object projected as it arrives. */
    secretTransport: (project) => ({
      list: () =>
        listInPages((limit, token) => {
          calls.count('secrets list (page)');
          return request('secretsPage', { limit, token });
        }, project),
      watch: async (_rv, onEvent) => {
        calls.count('secrets watch');
        const projected = (e) => onEvent({ ...e, object: project(e.object) });
        watchers.add(projected);
        await request('watchSecrets');
        return { abort: () => watchers.delete(projected) };
      },
    }),
    /** The list of the pods (pages of 500); their watch stays quiet. */
    podTransport: (project) => ({
      list: () =>
        listInPages((limit, token) => {
          calls.count('pods list (page)');
          return request('podsPage', { limit, token });
        }, project),
      watch: async () => {
        calls.count('pods watch');
        return { abort() {} };
      },
    }),
  };
}
