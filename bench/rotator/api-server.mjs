// The in-memory API server of the rotator scale test (bench/rotator-scale.mjs), run in a process of its own
// (child_process.fork) so that its copy of every Secret (~840 MB at 150,000) is not in the rotator's heap: a
// real rotator's garbage collector never marks the API server's objects, and its CPU never serializes them.
//
// API-server semantics: a resourceVersion on every write, 409 on a stale replace and on a create of an existing
// name, every write echoed on the watch after its answer, lists in pages of one snapshot (limit/continue).
// Every answer crosses the IPC channel as JSON, so the rotator's process decodes every object it receives, as
// a client decodes the wire.
//
// Messages from the parent: { id, op, ...args }; answers: { id, result } or { id, error: { status, message } };
// watch events: { watch: 'secrets', type, object }.
import { generateRootCa } from '../../dist/pki/ca.js';
import { issueLeaf } from '../../dist/pki/issue.js';
import { newCaSecret, readCaSecret } from '../../dist/model/ca-secret.js';
import { sealKeyOf, sealOf } from '../../dist/pki/seal.js';
import { buildWorkloadSecret } from '../../dist/model/workload-secret.js';
import { managedFields, podAt } from './objects.mjs';

const HOUR = 3_600_000;

/** `namespace/name` → the Secret as stored. */
const objects = new Map();
/** Open list snapshots by id, for continue tokens. */
const snapshots = new Map();
let nextSnapshot = 1;
let version = 1_000_000;
let watching = false;
let pods = 0;

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const keyOf = (s) => `${s.metadata.namespace}/${s.metadata.name}`;

function store(secret, now) {
  const stored = {
    ...secret,
    metadata: { ...secret.metadata, resourceVersion: String(++version), managedFields: managedFields(now) },
  };
  objects.set(keyOf(stored), stored);
  return stored;
}

/**
 * N pods and their Secrets, issued over the last 12 h (from `now`) with 24 h lifetimes, under a fresh CA and
 * sealed as the rotator seals what it writes (unless `sealed` is false: Secrets written before seals
 * existed); answers the CA Secret as the rotator reads it.
 */
function record({ n, now, sealed }) {
  const ca = generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain: 'cluster.local',
    lifetimeSeconds: 365 * 86_400,
    now: new Date(now - 24 * HOUR),
  });
  const caSecret = {
    ...newCaSecret(ca, 'mtls-injector', 'mtls-injector-ca', new Date(now)),
    metadata: { name: 'mtls-injector-ca', namespace: 'mtls-injector', resourceVersion: '1' },
  };
  const bundlePem = readCaSecret(caSecret, new Date(now)).bundlePem;
  const sealKey = sealKeyOf(ca.keyPem);
  for (let i = 0; i < n; i++) {
    const { namespace: ns, name, uid } = podAt(i).metadata;
    const spiffeId = `spiffe://cluster.local/ns/${ns}/sa/app`;
    const leaf = issueLeaf(ca, {
      spiffeId,
      keyAlgorithm: 'ecdsa-p256',
      lifetimeSeconds: 24 * 3600,
      backdateSeconds: 60,
      now: new Date(now - Math.floor((i / n) * 12 * HOUR)),
    });
    const seal = sealed ? sealOf(sealKey, leaf.certPem, leaf.keyPem) : undefined;
    const issued = { certPem: leaf.certPem, keyPem: leaf.keyPem, seal };
    const secret = buildWorkloadSecret(
      `${name}-mtls`,
      { namespace: ns, name, uid },
      spiffeId,
      issued,
      bundlePem,
    );
    objects.set(`${ns}/${name}-mtls`, {
      ...secret,
      metadata: {
        ...secret.metadata,
        resourceVersion: String(++version),
        creationTimestamp: '2026-11-22T12:00:00Z',
        managedFields: managedFields(now),
      },
    });
  }
  pods = n;
  return caSecret;
}

/** One page of a list from one snapshot; the first page (no token) takes the snapshot. */
function page(all, { limit, token }) {
  let id;
  let from = 0;
  if (token === undefined) {
    id = nextSnapshot++;
    snapshots.set(id, { items: all(), resourceVersion: String(version) });
  } else {
    [id, from] = token.split(':').map(Number);
  }
  const snapshot = snapshots.get(id);
  if (snapshot === undefined) throw new ApiError(410, 'continue token expired');
  const items = snapshot.items.slice(from, from + limit);
  const more = from + limit < snapshot.items.length;
  if (!more) snapshots.delete(id);
  return {
    items,
    resourceVersion: snapshot.resourceVersion,
    continueToken: more ? `${id}:${from + limit}` : '',
  };
}

const emit = (type, object) => {
  if (watching) process.send({ watch: 'secrets', type, object });
};

const ops = {
  record,
  get: ({ namespace, name }) => objects.get(`${namespace}/${name}`),
  create: ({ secret, now }) => {
    if (objects.has(keyOf(secret))) throw new ApiError(409, 'AlreadyExists');
    return store(secret, now);
  },
  replace: ({ secret, now }) => {
    if (objects.get(keyOf(secret))?.metadata.resourceVersion !== secret.metadata.resourceVersion)
      throw new ApiError(409, 'Conflict');
    return store(secret, now);
  },
  delete: ({ namespace, name }) => {
    const gone = objects.get(`${namespace}/${name}`);
    objects.delete(`${namespace}/${name}`);
    return gone;
  },
  list: () => [...objects.values()],
  secretsPage: (args) => page(() => [...objects.values()], args),
  podsPage: (args) => page(() => Array.from({ length: pods }, (_, i) => i), args),
  watchSecrets: () => {
    watching = true;
    return true;
  },
  ping: () => true,
  memory: () => {
    globalThis.gc?.();
    return process.memoryUsage();
  },
};

/** Writes whose answer is followed by their watch event, as the API server's watch cache sends it after. */
const echoes = { create: 'ADDED', replace: 'MODIFIED', delete: 'DELETED' };

process.on('message', (message) => {
  const { id, op } = message;
  let result;
  try {
    result = ops[op](message);
  } catch (err) {
    process.send({ id, error: { status: err.status, message: err.message } });
    return;
  }
  // pods are made when listed, as the API server serializes them
  if (op === 'podsPage') result = { ...result, items: result.items.map(podAt) };
  process.send({ id, result: op === 'delete' ? undefined : result });
  if (echoes[op] !== undefined && result !== undefined) emit(echoes[op], result);
});
process.on('disconnect', () => process.exit(0));
