import { loadConfig } from '../../src/config/loader.js';
import type { Config } from '../../src/config/schema.js';
import {
  MANAGED_LABEL,
  OPT_IN_ENABLED,
  OPT_IN_LABEL,
  SECRET_ANNOTATION,
  VOLUME_NAME,
} from '../../src/core/names.js';
import type { PodObject, ServiceObject } from '../../src/kube/types.js';
import { type CertificateAuthority, generateRootCa } from '../../src/pki/ca.js';
import { createKeyPool } from '../../src/pki/key-pool.js';
import { type CaMaterial, newCaSecret, readCaSecret } from '../../src/model/ca-secret.js';
import { RotatorController } from '../../src/rotator/controller.js';
import { staticLeadership } from '../fakes/leadership.js';
import { createPkiCertOps } from '../../src/rotator/pki-adapter.js';
import type { CertOps } from '../../src/rotator/ports.js';
import type { RevocationHooks } from '../../src/rotator/sync-pod.js';
import { FakeClock, seededRandom } from '../fakes/clock.js';
import { FakeEvents, FakeSecretApi } from '../fakes/kube.js';
import { memoryLog } from '../fakes/log.js';

export interface Harness {
  readonly config: Config;
  readonly clock: FakeClock;
  readonly secrets: FakeSecretApi;
  readonly events: FakeEvents;
  readonly controller: RotatorController;
  readonly certs: CertOps;
  readonly counts: Record<string, number>;
  readonly log: ReturnType<typeof memoryLog>;
  /** Namespace labels as the Namespace watch shows them: `shop` is opted in, nothing else is. */
  readonly namespaces: Map<string, Record<string, string>>;
  /** Pods as the API server holds them (what a GET of one pod answers). */
  readonly pods: Map<string, PodObject>;
  /** Creates a pod: stored in the API and delivered on the pod watch. */
  addPod(pod: PodObject): void;
  /** Deletes a pod from the API and the watch. */
  deletePod(pod: PodObject): void;
  ca: CaMaterial;
  /** Runs ticks and drains until no work is ready (retries scheduled later stay scheduled). */
  settle(): Promise<void>;
  /** Replaces the CA the controller issues from (as a CA Secret change would). */
  setCa(material: CaMaterial): void;
}

export function makeCa(clock: FakeClock, trustDomain = 'cluster.local'): CertificateAuthority {
  return generateRootCa({
    keyAlgorithm: 'ecdsa-p256',
    trustDomain,
    lifetimeSeconds: 365 * 86_400,
    now: new Date(clock.now),
  });
}

export function caMaterial(ca: CertificateAuthority, clock: FakeClock): CaMaterial {
  return readCaSecret(
    {
      ...newCaSecret(ca, 'mtls-injector', 'mtls-injector-ca', new Date(clock.now)),
      metadata: { name: 'mtls-injector-ca', namespace: 'mtls-injector', resourceVersion: String(clock.now) },
    },
    new Date(clock.now),
  );
}

/** Builds a controller over an in-memory API and the real pki, leading unless told otherwise. */
export function makeHarness(
  options: {
    leader?: boolean;
    flags?: Record<string, string>;
    clock?: FakeClock;
    /** The Secret store (default a new FakeSecretApi); a subclass can hold writes to observe concurrency. */
    secrets?: FakeSecretApi;
    /** Revocation hooks for pod syncs (read lazily, so they may refer to the harness's controller). */
    revocation?: () => RevocationHooks | undefined;
  } = {},
): Harness {
  const config = loadConfig({ flags: { leafLifetime: '1h', backdate: '60s', ...options.flags } });
  const clock = options.clock ?? new FakeClock();
  const secrets = options.secrets ?? new FakeSecretApi();
  const events = new FakeEvents();
  const log = memoryLog();
  const counts: Record<string, number> = {};
  const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const state = { ca: caMaterial(makeCa(clock), clock) };
  const namespaces = new Map<string, Record<string, string>>([
    ['shop', { [OPT_IN_LABEL]: OPT_IN_ENABLED }],
    ['kube-system', {}],
    ['mtls-injector', {}],
    ['plain', {}],
  ]);
  const pods = new Map<string, PodObject>();
  const podKey = (p: PodObject) => `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;
  const certs = createPkiCertOps({
    config,
    caManager: { current: () => state.ca },
    keyPool: createKeyPool({ algorithm: 'ecdsa-p256' }),
    clock: clock.read,
  });
  const controller = new RotatorController({
    config,
    secrets,
    events,
    certs,
    leadership: staticLeadership(options.leader ?? true),
    clock: clock.read,
    random: seededRandom(1),
    sleep: clock.sleep,
    counters: {
      issued: (kind) => bump(`issued:${kind}`),
      failed: (reason) => bump(`failed:${reason}`),
      foreign: () => bump('foreign'),
      collision: () => bump('collision'),
    },
    log,
    namespaceLabels: (name) => namespaces.get(name),
    getPod: (namespace, name) => Promise.resolve(pods.get(`${namespace}/${name}`)),
    revocation:
      options.revocation === undefined
        ? undefined
        : {
            find: (serial, issuer) => options.revocation?.()?.find(serial, issuer),
            crl: () => options.revocation?.()?.crl(),
            get crlValidityMs() {
              return options.revocation?.()?.crlValidityMs ?? 0;
            },
            reissued: (seconds) => options.revocation?.()?.reissued(seconds),
          },
  });
  // The fake store plays the watch: every write reaches the controller like a watch event would.
  secrets.watchers.push({
    upsert: (s) => controller.upsertSecret(s),
    remove: (s) => controller.removeSecret(s),
  });
  return {
    config,
    clock,
    secrets,
    events,
    controller,
    certs,
    counts,
    log,
    namespaces,
    pods,
    addPod(pod) {
      pods.set(podKey(pod), pod);
      controller.upsertPod(pod);
    },
    deletePod(pod) {
      pods.delete(podKey(pod));
      controller.removePod(pod);
    },
    get ca() {
      return state.ca;
    },
    set ca(value: CaMaterial) {
      state.ca = value;
    },
    async settle() {
      for (let i = 0; i < 50; i++) {
        controller.tick();
        await controller.drain();
        if (controller.stats().queueDepth === 0) return;
        const next = controller.nextWakeup();
        if (next === undefined || next > clock.now) return;
      }
    },
    setCa(material) {
      state.ca = material;
      controller.trustChanged();
    },
  };
}

let uidCounter = 0;

/**
 * A pod as the webhook leaves it: managed label, Secret annotation and the `mtls-certs` volume naming the
 * Secret, uid assigned by the API server.
 */
export function managedPod(
  name: string,
  options: {
    namespace?: string;
    serviceAccount?: string;
    labels?: Record<string, string>;
    uid?: string;
    secretName?: string;
  } = {},
): PodObject {
  return {
    metadata: {
      name,
      namespace: options.namespace ?? 'shop',
      uid: options.uid ?? `pod-uid-${++uidCounter}`,
      labels: { [MANAGED_LABEL]: 'true', ...(options.labels ?? {}) },
      annotations: { [SECRET_ANNOTATION]: options.secretName ?? `${name}-mtls` },
    },
    spec: {
      serviceAccountName: options.serviceAccount ?? 'web',
      volumes: [{ name: VOLUME_NAME, secret: { secretName: options.secretName ?? `${name}-mtls` } }],
    },
    status: { phase: 'Pending' },
  };
}

export function service(name: string, selector: Record<string, string>, namespace = 'shop'): ServiceObject {
  return { metadata: { name, namespace }, spec: { selector } };
}
