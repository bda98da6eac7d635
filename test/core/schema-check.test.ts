import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkPodShape, podShape } from '../../src/core/pod.js';
import { admissionReviewSchema, parseAdmissionReview } from '../../src/core/review.js';
import { compileCheck } from '../../src/core/schema-check.js';

const isPodShape = compileCheck(podShape);
const isAdmissionReview = compileCheck(admissionReviewSchema);

/** Each field the shape reads: a well-typed value most of the time, anything JSON otherwise. */
const anyJson = fc.jsonValue({ maxDepth: 2 });
const maybe = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: valid, weight: 30 },
    { arbitrary: anyJson, weight: 1 },
    { arbitrary: fc.constant(null), weight: 1 },
  );
const stringMap = fc.dictionary(fc.string({ maxLength: 5 }), maybe(fc.string({ maxLength: 5 })), {
  maxKeys: 3,
});
const container = fc.record(
  {
    name: maybe(fc.string({ minLength: 1, maxLength: 6 })),
    args: maybe(fc.array(maybe(fc.string({ maxLength: 4 })), { maxLength: 2 })),
    env: maybe(fc.array(fc.record({ name: maybe(fc.string({ maxLength: 4 })) }), { maxLength: 2 })),
    volumeMounts: maybe(
      fc.array(
        fc.record(
          {
            name: maybe(fc.string({ maxLength: 4 })),
            mountPath: maybe(fc.string({ maxLength: 6 })),
            subPath: maybe(fc.string({ maxLength: 4 })),
            readOnly: maybe(fc.boolean()),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
    ),
    extra: anyJson,
  },
  { requiredKeys: ['name'] },
);
const pod = fc.record(
  {
    metadata: maybe(
      fc.record(
        { name: maybe(fc.string()), generateName: maybe(fc.string()), labels: maybe(stringMap) },
        { requiredKeys: [] },
      ),
    ),
    spec: maybe(
      fc.record(
        {
          serviceAccountName: maybe(fc.string({ maxLength: 5 })),
          containers: maybe(fc.array(container, { minLength: 1, maxLength: 3 })),
          initContainers: maybe(fc.array(container, { maxLength: 2 })),
          volumes: maybe(
            fc.array(fc.record({ name: maybe(fc.string({ maxLength: 4 })), secret: maybe(fc.object()) }), {
              maxLength: 2,
            }),
          ),
          securityContext: maybe(fc.record({ fsGroup: maybe(fc.oneof(fc.integer(), fc.double())) })),
          os: maybe(fc.record({ name: maybe(fc.string({ maxLength: 7 })) })),
        },
        { requiredKeys: ['containers'] },
      ),
    ),
  },
  { requiredKeys: ['spec'] },
);

describe('compileCheck', () => {
  it('accepts exactly what the zod pod shape accepts, valid or not', () => {
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(fc.oneof({ arbitrary: pod, weight: 6 }, { arbitrary: anyJson, weight: 1 }), (value) => {
        const expected = podShape.safeParse(value).success;
        if (expected) valid++;
        else invalid++;
        expect(isPodShape(value)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
    // The generator must reach both answers for the comparison to mean anything.
    expect(valid).toBeGreaterThan(250);
    expect(invalid).toBeGreaterThan(500);
  });

  it('still names the problems of a pod it refuses, from zod', () => {
    expect(checkPodShape({ spec: { containers: [{ name: 7 }] } })).toEqual({
      ok: false,
      message: expect.stringContaining('spec.containers[0].name') as unknown,
    });
  });

  it('refuses a schema that JSON Schema cannot carry rather than dropping the refinement', () => {
    expect(() => compileCheck(z.string().refine((s) => s.startsWith('a')))).toThrow(/refinement/);
    expect(() => compileCheck(z.object({ a: z.string() }).superRefine(() => undefined))).toThrow(RangeError);
    expect(() => compileCheck(z.string().transform((s) => s.length))).toThrow(/pipe/);
    expect(compileCheck(z.object({ a: z.string().min(2) }))({ a: 'x' })).toBe(false);
  });
});

/** AdmissionReview envelopes, each field usually right and sometimes anything. */
const gvk = fc.record({ group: maybe(fc.string()), version: maybe(fc.string()), kind: maybe(fc.string()) });
const review = fc.record(
  {
    apiVersion: maybe(fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1')),
    kind: maybe(fc.constant('AdmissionReview')),
    request: maybe(
      fc.record(
        {
          uid: maybe(fc.string({ minLength: 1, maxLength: 8 })),
          kind: maybe(gvk),
          resource: maybe(
            fc.record({
              group: maybe(fc.string()),
              version: maybe(fc.string()),
              resource: maybe(fc.string()),
            }),
          ),
          subResource: maybe(fc.string({ maxLength: 4 })),
          namespace: maybe(fc.string({ maxLength: 4 })),
          operation: maybe(fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT')),
          object: fc.oneof(fc.object({ maxDepth: 1 }), anyJson),
          dryRun: maybe(fc.boolean()),
        },
        { requiredKeys: ['uid', 'kind', 'resource', 'operation'] },
      ),
    ),
  },
  { requiredKeys: ['apiVersion', 'kind', 'request'] },
);

describe('the compiled AdmissionReview check', () => {
  it('accepts exactly what the zod envelope accepts, the CREATE-needs-an-object rule included', () => {
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(review, (value) => {
        const expected = admissionReviewSchema.safeParse(value).success;
        if (expected) valid++;
        else invalid++;
        expect(isAdmissionReview(value)).toBe(expected);
        expect(parseAdmissionReview(value).ok).toBe(expected);
      }),
      { numRuns: 5000 },
    );
    expect(valid).toBeGreaterThan(250);
    expect(invalid).toBeGreaterThan(500);
  });

  it('hands back the body itself, not a copy', () => {
    const body = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        operation: 'CREATE',
        object: { spec: {} },
        userInfo: { username: 'kept' },
      },
    };
    const parsed = parseAdmissionReview(body);
    expect(parsed.ok && parsed.review).toBe(body);
  });
});
