// `npm run demo`: the main job on the embedded defaults, end to end on this machine. It makes a throwaway CA
// under .demo/ with the real CLI, issues identities for two workloads (namespace demo, service accounts frontend
// and backend), verifies the files as mtls-init would, runs a mutual-TLS exchange between them, and shows a
// client holding a certificate from another CA being refused. Exit 0 only when every step behaved.
//
// Steps are data: each has a title and an async run(state) that prints what it did and throws on failure. The
// webhook demo appends its steps (cluster, namespace label, pod injection) to the same list.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../dist/config/loader.js';
import { loadCa } from '../dist/pki/ca.js';
import { issueLeaf } from '../dist/pki/issue.js';
import { verifyLeaf } from '../dist/pki/verify.js';
import { startWebhookServer } from '../dist/webhook/server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Paths are relative to the repository root, so what the demo prints can be typed as is.
process.chdir(ROOT);
// MTLS_DEMO_DIR moves the working files elsewhere (the test runs the demo in a temporary directory).
const DEMO = process.env.MTLS_DEMO_DIR ?? '.demo';
const MAIN = join('dist', 'main.js');
const TRUST_DOMAIN = 'cluster.local';
const NAMESPACE = 'demo';
const idOf = (serviceAccount) => `spiffe://${TRUST_DOMAIN}/ns/${NAMESPACE}/sa/${serviceAccount}`;
const dir = (name) => join(DEMO, name);

const steps = [
  {
    title: 'Create a local CA (ECDSA P-256, trust domain cluster.local)',
    run: () => {
      for (const name of ['ca', 'other-ca', 'frontend', 'backend', 'intruder', 'webhook'])
        rmSync(dir(name), { recursive: true, force: true });
      cli('ca', 'init', '--dir', dir('ca'));
    },
  },
  {
    title: 'Start the webhook (HTTPS, serving cert from the CA) and admit three pods of namespace demo',
    run: async (state) => {
      const ca = loadCa({
        certChainPem: readFileSync(join(dir('ca'), 'ca.crt'), 'utf8'),
        keyPem: readFileSync(join(dir('ca'), 'ca.key'), 'utf8'),
        now: new Date(),
      });
      const serving = issueLeaf(ca, {
        dnsNames: ['localhost'],
        keyAlgorithm: 'ecdsa-p256',
        lifetimeSeconds: 3600,
        backdateSeconds: 60,
        now: new Date(),
      });
      mkdirSync(dir('webhook'), { recursive: true });
      writeFileSync(join(dir('webhook'), 'tls.crt'), serving.certPem);
      writeFileSync(join(dir('webhook'), 'tls.key'), serving.keyPem, { mode: 0o600 });
      const config = loadConfig({
        flags: {
          'webhook.host': '127.0.0.1',
          'webhook.port': String(await freePort()),
          'webhook.probePort': String(await freePort()),
          'webhook.tlsCert': join(dir('webhook'), 'tls.crt'),
          'webhook.tlsKey': join(dir('webhook'), 'tls.key'),
          'log.level': 'silent',
        },
      });
      state.webhook = await startWebhookServer(config, { watchCertificates: false });
      say(`webhook listening on https://localhost:${state.webhook.port}/mutate`);
      state.admitted = {};
      for (const [name, annotations] of [
        ['backend', {}],
        ['frontend', {}],
        ['legacy', { 'mtls-injector.io/inject': 'false' }],
      ]) {
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: NAMESPACE, labels: { app: name }, annotations },
          spec: {
            serviceAccountName: name,
            containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
          },
        };
        const review = await admit(state.webhook.port, readFileSync(join(dir('ca'), 'ca.crt')), pod);
        const ops = review.response.patch
          ? JSON.parse(Buffer.from(review.response.patch, 'base64').toString('utf8'))
          : [];
        const spiffeId = ops
          .flatMap((op) =>
            op.path === '/metadata/annotations' ? Object.entries(op.value) : [[op.path, op.value]],
          )
          .find(([key]) => String(key).endsWith('spiffe-id'))?.[1];
        state.admitted[name] = spiffeId;
        say(
          `${name.padEnd(8)} allowed=${review.response.allowed}  ${ops.length} patch ops  ` +
            (spiffeId
              ? `identity ${spiffeId}`
              : `not injected (${(review.response.warnings ?? []).join('; ')})`),
        );
      }
      if (!state.admitted.backend || !state.admitted.frontend || state.admitted.legacy)
        throw new Error('expected backend and frontend injected, legacy not');
    },
  },
  {
    title: "Issue the identities the rotator would write into the two injected pods' Secrets",
    run: () => {
      cli(
        'ca',
        'issue',
        '--dir',
        dir('ca'),
        '--namespace',
        NAMESPACE,
        '--service-account',
        'backend',
        '--out',
        dir('backend'),
        '--dns',
        'backend.demo.svc',
      );
      cli(
        'ca',
        'issue',
        '--dir',
        dir('ca'),
        '--namespace',
        NAMESPACE,
        '--service-account',
        'frontend',
        '--out',
        dir('frontend'),
      );
    },
  },
  {
    title: 'Verify the files as the mtls-init container would (chain, key match, identity, validity)',
    run: () => {
      for (const name of ['backend', 'frontend']) {
        const files = identityFiles(dir(name));
        const result = verifyLeaf({
          certChainPem: files.cert.toString(),
          keyPem: files.key.toString(),
          trustBundlePem: files.ca.toString(),
          now: new Date(),
          expectedSpiffeId: idOf(name),
        });
        if (!result.ok) throw new Error(`${name}: ${result.problems.map((p) => p.message).join('; ')}`);
        say(
          `${name.padEnd(8)} ok  ${result.leaf.spiffeId}  valid until ${result.leaf.notAfter.toISOString()}`,
        );
      }
    },
  },
  {
    title: 'Mutual TLS: backend serves and requires client certificates, frontend calls it',
    run: async (state) => {
      state.server = await startBackend(identityFiles(dir('backend')));
      const reply = await call(state.server, identityFiles(dir('frontend')));
      const seen = await state.server.nextEvent();
      if (seen.kind !== 'accepted') throw new Error(`backend refused frontend: ${seen.reason}`);
      say(`backend saw client   ${seen.peer}`);
      say(`frontend saw server  ${reply.serverId}`);
      say(`negotiated           ${reply.protocol}, ${reply.cipher}`);
      say(`backend replied      ${JSON.stringify(reply.text.trim())}`);
      if (seen.peer !== idOf('frontend') || reply.serverId !== idOf('backend'))
        throw new Error('unexpected identities');
    },
  },
  {
    title: 'The un-injected third pod (legacy) has no identity: the backend refuses it',
    run: async (state) => {
      const anonymous = { ca: identityFiles(dir('backend')).ca };
      const outcome = await call(state.server, anonymous).then(
        (reply) =>
          reply.text === '' ? 'connection closed without a reply' : `got a reply: ${reply.text.trim()}`,
        (err) => `connection failed (${err.code ?? err.message})`,
      );
      const seen = await state.server.nextEvent();
      if (seen.kind !== 'rejected') throw new Error('the backend accepted a client without a certificate');
      say(`backend refused the handshake: ${seen.reason}`);
      say(`legacy: ${outcome}`);
      if (outcome.startsWith('got a reply')) throw new Error('legacy got a reply');
    },
  },
  {
    title: 'A client holding a certificate from another CA is refused',
    run: async (state) => {
      cli('ca', 'init', '--dir', dir('other-ca'));
      cli(
        'ca',
        'issue',
        '--dir',
        dir('other-ca'),
        '--namespace',
        NAMESPACE,
        '--service-account',
        'frontend',
        '--out',
        dir('intruder'),
      );
      // It even trusts our CA, so it can verify the backend: only its own certificate gives it away.
      const intruder = { ...identityFiles(dir('intruder')), ca: identityFiles(dir('backend')).ca };
      const outcome = await call(state.server, intruder).then(
        (reply) =>
          reply.text === '' ? 'connection closed without a reply' : `got a reply: ${reply.text.trim()}`,
        (err) => `connection failed (${err.code ?? err.message})`,
      );
      const seen = await state.server.nextEvent();
      if (seen.kind !== 'rejected') throw new Error(`the backend accepted ${seen.peer} from another CA`);
      say(`backend refused the handshake: ${seen.reason}`);
      say(`intruder: ${outcome}`);
      if (outcome.startsWith('got a reply')) throw new Error('the intruder got a reply');
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------

function say(line) {
  process.stdout.write(`      ${line}\n`);
}

/** Runs the built CLI like a user would, echoing the command and its output. */
function cli(...args) {
  say(`$ mtls-injector ${args.join(' ')}`);
  const out = execFileSync(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const line of out.trimEnd().split('\n')) say(`  ${line}`);
}

function identityFiles(path) {
  return {
    cert: readFileSync(join(path, 'tls.crt')),
    key: readFileSync(join(path, 'tls.key')),
    ca: readFileSync(join(path, 'ca.crt')),
  };
}

function spiffeIdOf(cert) {
  return (cert?.subjectaltname ?? '')
    .split(', ')
    .find((name) => name.startsWith('URI:'))
    ?.slice(4);
}

/** The backend: a node:tls server that requires a client certificate from its trust bundle. */
function startBackend(files) {
  const events = [];
  const waiters = [];
  const push = (event) => {
    events.push(event);
    for (const wake of waiters.splice(0)) wake();
  };
  const server = tls.createServer(
    { cert: files.cert, key: files.key, ca: files.ca, requestCert: true, rejectUnauthorized: true },
    (socket) => {
      const peer = spiffeIdOf(socket.getPeerCertificate());
      push({ kind: 'accepted', peer });
      socket.end(`hello ${peer?.split('/').at(-1)}, this is backend\n`);
    },
  );
  // node destroys an unauthorized client after the TLS 1.3 handshake; the reason is on the socket.
  server.on('tlsClientError', (err, socket) =>
    push({ kind: 'rejected', reason: socket.authorizationError ?? err.code }),
  );
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () => new Promise((done) => server.close(done)),
        nextEvent: async () => {
          while (events.length === 0) await new Promise((wake) => waiters.push(wake));
          return events.shift();
        },
      }),
    );
  });
}

/** One request from a client identity; the client checks the server's SPIFFE ID, not only its chain. */
function call(server, files) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.port,
      servername: 'backend.demo.svc',
      cert: files.cert,
      key: files.key,
      ca: files.ca,
      checkServerIdentity: (host, cert) =>
        spiffeIdOf(cert) === idOf('backend')
          ? tls.checkServerIdentity(host, cert)
          : new Error(`server is ${spiffeIdOf(cert)}`),
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', reject);
    socket.on('end', () =>
      resolve({
        text,
        serverId: spiffeIdOf(socket.getPeerCertificate()),
        protocol: socket.getProtocol(),
        cipher: socket.getCipher()?.name,
      }),
    );
  });
}

/** POSTs an AdmissionReview for `pod` to the webhook, trusting `caPem`, and returns the parsed answer. */
function admit(port, caPem, pod) {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `demo-${pod.metadata.name}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      operation: 'CREATE',
      userInfo: { username: 'demo' },
      object: pod,
      dryRun: false,
    },
  });
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: 'localhost',
        port,
        path: '/mutate',
        method: 'POST',
        ca: caPem,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(JSON.parse(text))
            : reject(new Error(`HTTP ${res.statusCode}: ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function main() {
  process.stdout.write(
    `mtls-injector demo: admission, issuance, one mutual-TLS handshake (files in ${DEMO}/)\n\n`,
  );
  const state = {};
  let failed = false;
  for (const [index, step] of steps.entries()) {
    process.stdout.write(`[${index + 1}/${steps.length}] ${step.title}\n`);
    try {
      await step.run(state);
    } catch (err) {
      const detail = err.stderr ? String(err.stderr).trim() : (err.message ?? String(err));
      process.stdout.write(`      FAILED: ${detail}\n`);
      failed = true;
      break;
    }
    process.stdout.write('\n');
  }
  await state.server?.close();
  await state.webhook?.close();
  process.stdout.write(
    failed
      ? 'demo failed\n'
      : `done: the webhook injected two of three pods; both proved their SPIFFE identities to each other; ` +
          `the un-injected pod and the outsider were refused.\n` +
          `      Try it yourself: openssl verify -CAfile .demo/ca/ca.crt .demo/frontend/tls.crt\n`,
  );
  return failed ? 1 : 0;
}

process.exitCode = await main();
