/**
 * Property tests over generated pods and reviews: every answer echoes the uid and sets patch/patchType
 * together; the patch applies cleanly with rfc6902 (a JSON-Patch implementation independent of the one that
 * built it); the result is a valid Pod for kubernetes-models; a second pass is empty; only our fields change.
 */
import fc from 'fast-check';
import { Pod } from 'kubernetes-models/v1/Pod';
import { applyPatch, type Operation } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { admit } from '../../src/core/admit.js';
import { decide, type DecideInput, type Mode } from '../../src/core/policy/decide.js';
import { appEnv } from '../../src/core/mutate/inject.js';
import {
  GENERATE_NAME_ALPHABET,
  INIT_CONTAINER_NAME,
  MANAGED_LABEL,
  MOUNT_PATH,
  SECRET_ANNOTATION,
  SPIFFE_ID_ANNOTATION,
  STATUS_ANNOTATION,
  VOLUME_NAME,
} from '../../src/core/names.js';
import { patchJson } from '../../src/core/mutate/json-text.js';
import { encodeAdmissionResponse, parseAdmissionReview } from '../../src/core/review.js';
import { EXCLUDED, SETTINGS, SUFFIX } from './helpers.js';

type Json = Record<string, unknown>;

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);
const subdomain = fc
  .array(label, { minLength: 1, maxLength: 3 })
  .map((parts) => parts.join('.'))
  .filter((s) => s.length <= 253);
const suffix = fc
  .array(fc.constantFrom(...GENERATE_NAME_ALPHABET), { minLength: 10, maxLength: 10 })
  .map((c) => c.join(''));
// Unknown fields of any JSON shape, except own "__proto__" keys: the envelope guard rejects those with 400
// before decide() runs (faults A7, test/core/json-guard.test.ts), and rfc6902's clone turns such a key
// into a prototype, so the comparison would fail inside the checker, not in our code.
const jsonValue = fc
  .jsonValue({ maxDepth: 3 })
  .filter((value) => !JSON.stringify(value).includes('"__proto__"'));
const stringMap = fc.dictionary(
  fc.stringMatching(/^([a-z0-9.]{1,10}\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.~]{0,10}[a-zA-Z0-9])?$/),
  fc.string({ maxLength: 20 }),
  { maxKeys: 4 },
);

const envVar = fc.record({
  name: fc.constantFrom('A', 'PORT', 'MTLS_CERT_FILE', 'MTLS_SPIFFE_ID', 'LOG_LEVEL'),
  value: fc.string({ maxLength: 20 }),
});
const mount = fc.record(
  {
    name: fc.constantFrom('data', 'cache', VOLUME_NAME),
    mountPath: fc.constantFrom('/data', '/cache', '/etc/tls/tls.crt', '/var/run'),
    readOnly: fc.boolean(),
    subPath: fc.constantFrom('tls.crt', 'sub'),
  },
  { requiredKeys: ['name', 'mountPath'] },
);

function container(name: string, sidecar: boolean): fc.Arbitrary<Json> {
  return fc
    .record(
      {
        image: fc.constantFrom('app:1', 'registry.example/x@sha256:abc'),
        env: fc.uniqueArray(envVar, { selector: (e) => e.name, maxLength: 4 }),
        volumeMounts: fc.uniqueArray(mount, { selector: (m) => m.mountPath, maxLength: 3 }),
        args: fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }),
        'x-unknown': jsonValue,
      },
      { requiredKeys: ['image'] },
    )
    .map((c) => ({ name, ...(sidecar ? { restartPolicy: 'Always' } : {}), ...c }));
}

/** Pods the API server could send: unique container names, optional everything, unknown fields. */
const podArb: fc.Arbitrary<Json> = fc
  .record({
    names: fc.uniqueArray(
      label.filter((n) => n !== INIT_CONTAINER_NAME),
      { minLength: 1, maxLength: 5 },
    ),
    initCount: fc.nat({ max: 2 }),
    sidecar: fc.boolean(),
    named: fc.boolean(),
    name: subdomain,
    withNamespace: fc.boolean(),
    labels: fc.option(stringMap, { nil: undefined }),
    annotations: fc.option(stringMap, { nil: undefined }),
    optIn: fc.boolean(),
    serviceAccount: subdomain,
    volumes: fc.uniqueArray(fc.constantFrom('data', 'cache', 'config'), { maxLength: 3 }),
    fsGroup: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    hostNetwork: fc.option(fc.boolean(), { nil: undefined }),
    unknown: fc.option(jsonValue, { nil: undefined }),
  })
  .chain((p) => {
    const initNames = p.names.slice(0, Math.min(p.initCount, p.names.length - 1));
    const appNames = p.names.slice(initNames.length);
    return fc
      .tuple(
        fc.tuple(...initNames.map((n, i) => container(n, p.sidecar && i === initNames.length - 1))),
        fc.tuple(...appNames.map((n) => container(n, false))),
      )
      .map(([inits, apps]) => {
        const metadata: Json = p.named ? { name: p.name } : { generateName: `${p.name.slice(0, 50)}-` };
        if (p.withNamespace) metadata['namespace'] = 'team-a';
        if (p.labels !== undefined) metadata['labels'] = p.labels;
        const annotations = { ...p.annotations, ...(p.optIn ? { 'mtls-injector.io/inject': 'true' } : {}) };
        if (p.annotations !== undefined || p.optIn) metadata['annotations'] = annotations;
        const spec: Json = { serviceAccountName: p.serviceAccount, containers: apps };
        if (inits.length > 0) spec['initContainers'] = inits;
        if (p.volumes.length > 0) spec['volumes'] = p.volumes.map((name) => ({ name, emptyDir: {} }));
        if (p.fsGroup !== undefined) spec['securityContext'] = { fsGroup: p.fsGroup };
        if (p.hostNetwork !== undefined) spec['hostNetwork'] = p.hostNetwork;
        const pod: Json = { apiVersion: 'v1', kind: 'Pod', metadata, spec };
        if (p.unknown !== undefined) pod['x-unknown'] = p.unknown;
        return pod;
      });
  });

function input(pod: unknown, overrides: Partial<DecideInput> = {}): DecideInput {
  return {
    pod,
    namespace: 'team-a',
    mode: 'enabled',
    operation: 'CREATE',
    excludedNamespaces: EXCLUDED,
    settings: SETTINGS,
    secretSuffix: SUFFIX,
    ...overrides,
  };
}

/** The pod without anything injection adds; empty maps and lists count as absent. */
function withoutOurs(pod: unknown, spiffeId: string): unknown {
  const p = structuredClone(pod) as Json;
  const ours = new Map(appEnv(spiffeId).map((e) => [e.name, e['value']]));
  const meta = (p['metadata'] ?? {}) as Json;
  const labels = meta['labels'] as Json | undefined;
  if (labels) delete labels[MANAGED_LABEL];
  const annotations = meta['annotations'] as Json | undefined;
  if (annotations)
    for (const key of [STATUS_ANNOTATION, SECRET_ANNOTATION, SPIFFE_ID_ANNOTATION]) delete annotations[key];
  const spec = p['spec'] as Json;
  spec['volumes'] = ((spec['volumes'] ?? []) as Json[]).filter((v) => v['name'] !== VOLUME_NAME);
  spec['initContainers'] = ((spec['initContainers'] ?? []) as Json[]).filter(
    (c) => c['name'] !== INIT_CONTAINER_NAME,
  );
  for (const c of [...(spec['initContainers'] as Json[]), ...(spec['containers'] as Json[])]) {
    c['volumeMounts'] = ((c['volumeMounts'] ?? []) as Json[]).filter(
      (m) => !(m['name'] === VOLUME_NAME && m['mountPath'] === MOUNT_PATH),
    );
    c['env'] = ((c['env'] ?? []) as Json[]).filter((e) => ours.get(e['name'] as string) !== e['value']);
    for (const key of ['volumeMounts', 'env']) if ((c[key] as unknown[]).length === 0) delete c[key];
  }
  for (const key of ['volumes', 'initContainers'])
    if ((spec[key] as unknown[]).length === 0) delete spec[key];
  for (const key of ['labels', 'annotations']) {
    const map = meta[key] as Json | undefined;
    if (map && Object.keys(map).length === 0) delete meta[key];
  }
  return p;
}

const OUR_PATHS = [
  /^\/metadata$/,
  /^\/metadata\/labels(\/mtls-injector\.io~1managed)?$/,
  /^\/metadata\/annotations(\/mtls-injector\.io~1(status|secret|spiffe-id))?$/,
  /^\/spec\/volumes(\/\d+)?$/,
  /^\/spec\/initContainers(\/0(\/.*)?)?$/,
  /^\/spec\/(initContainers|containers)\/\d+\/(env|volumeMounts)(\/\d+)?$/,
];

describe('properties of decide() over generated pods', () => {
  it('injects every valid pod with a patch that rfc6902 applies, Kubernetes accepts, and a second pass leaves alone', () => {
    fc.assert(
      fc.property(podArb, fc.constantFrom<Mode>('enabled', 'strict'), (pod, mode) => {
        const frozen = JSON.stringify(pod);
        const decision = decide(input(pod, { mode }));
        expect(JSON.stringify(pod)).toBe(frozen);
        expect(decision.kind).toBe('inject');
        if (decision.kind !== 'inject') return;

        expect(patchJson(decision.patch)).toBe(JSON.stringify(decision.patch));
        const applied = structuredClone(pod);
        const errors = applyPatch(applied, decision.patch as Operation[]);
        expect(errors.every((e) => e === null)).toBe(true);
        expect(applied).toEqual(decision.pod);
        expect(() => new Pod(applied as never).validate()).not.toThrow();

        for (const op of decision.patch) {
          expect(op.path.endsWith('/-')).toBe(false);
          expect(
            OUR_PATHS.some((re) => re.test(op.path)),
            op.path,
          ).toBe(true);
        }
        expect(withoutOurs(applied, decision.identity.spiffeId)).toEqual(
          withoutOurs(pod, decision.identity.spiffeId),
        );

        const again = decide(input(applied, { mode, secretSuffix: 'zzzzzzzzzz' }));
        expect(again.kind).toBe('skip');
        expect(again.reason).toBe('already_injected');
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same answer for the same pod (B5); a named pod ignores the suffix', () => {
    fc.assert(
      fc.property(podArb, suffix, (pod, otherSuffix) => {
        const first = decide(input(pod));
        expect(decide(input(structuredClone(pod)))).toEqual(first);
        const named = (pod['metadata'] as Json)['name'] !== undefined;
        if (named) expect(decide(input(pod, { secretSuffix: otherSuffix }))).toEqual(first);
      }),
      { numRuns: 100 },
    );
  });
});

const uid = fc.string({ minLength: 1, maxLength: 40 });
const reviewArb = fc.record({
  apiVersion: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
  kind: fc.constant('AdmissionReview'),
  request: fc.record(
    {
      uid,
      kind: fc.constantFrom(
        { group: '', version: 'v1', kind: 'Pod' },
        { group: 'apps', version: 'v1', kind: 'Deployment' },
      ),
      resource: fc.constantFrom(
        { group: '', version: 'v1', resource: 'pods' },
        { group: 'apps', version: 'v1', resource: 'deployments' },
        { group: '', version: 'v1beta1', resource: 'pods' },
      ),
      subResource: fc.constantFrom('', 'status', 'ephemeralcontainers', 'binding'),
      namespace: fc.constantFrom('team-a', 'kube-system', 'mtls-injector', 'Bad_NS', ''),
      operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'),
      object: fc.oneof(
        podArb,
        fc.object({ maxDepth: 3 }),
        fc.constant({ metadata: { name: 'x' }, spec: { containers: [{ name: 'mtls-init' }] } }),
      ),
      dryRun: fc.boolean(),
    },
    { requiredKeys: ['uid', 'kind', 'resource', 'operation', 'object'] },
  ),
});

describe('properties of admit() over generated reviews', () => {
  it('echoes the uid on every path and sets patch and patchType together or not at all (A12, A13)', () => {
    fc.assert(
      fc.property(
        reviewArb,
        fc.constantFrom<Mode>('enabled', 'strict'),
        fc.boolean(),
        (body, mode, failOpen) => {
          const parsed = parseAdmissionReview(body);
          expect(parsed.ok).toBe(true);
          if (!parsed.ok) return;
          const { decision, response } = admit(parsed.review, {
            mode,
            settings: { ...SETTINGS, failOpen },
            excludedNamespaces: EXCLUDED,
            secretSuffix: SUFFIX,
          });
          expect(encodeAdmissionResponse(response)).toBe(JSON.stringify(response));
          expect(response.apiVersion).toBe(body.apiVersion);
          expect(response.kind).toBe('AdmissionReview');
          expect(response.response.uid).toBe(body.request.uid);
          expect(response.response.patch === undefined).toBe(response.response.patchType === undefined);
          expect(response.response.allowed).toBe(decision.kind !== 'deny');
          if (response.response.patch !== undefined) {
            expect(decision.kind).toBe('inject');
            const ops = JSON.parse(
              Buffer.from(response.response.patch, 'base64').toString('utf8'),
            ) as unknown[];
            expect(ops.length).toBeGreaterThan(0);
          }
          if (decision.kind === 'deny') expect(response.response.status?.message).toContain(decision.reason);
          if (mode === 'strict')
            expect(
              decision.kind === 'skip' && decision.warnings.some((w) => w.includes('not injected:')),
            ).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
