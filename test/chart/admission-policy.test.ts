/**
 * The chart's ValidatingAdmissionPolicy, evaluated with a CEL implementation (./cel.ts) the way the API
 * server runs it: the variables first, then every validation; an UPDATE is admitted when all are true. It
 * must refuse changing, adding or removing a pod's mtls-injector.io/* labels and annotations (other than the
 * opt-out annotation) after creation, and admit everything else. The real API server runs it in
 * test/e2e/disruptive/hardening.e2e.test.ts.
 */
import { expect, it } from 'vitest';
import { cel, toCel } from './cel.js';
import { describeWithHelm, find, ofKind, render } from './helm.js';

interface Policy {
  readonly spec: {
    readonly failurePolicy: string;
    readonly matchConstraints: { readonly resourceRules: readonly Record<string, unknown>[] };
    readonly variables: readonly { readonly name: string; readonly expression: string }[];
    readonly validations: readonly { readonly expression: string; readonly message: string }[];
  };
}
interface Binding {
  readonly spec: { readonly policyName: string; readonly validationActions: readonly string[] };
}

type Meta = { labels?: Record<string, string>; annotations?: Record<string, string> };
const injected: Meta = {
  labels: { app: 'web', 'mtls-injector.io/managed': 'true' },
  annotations: {
    'mtls-injector.io/secret': 'web-0-mtls',
    'mtls-injector.io/status': '{"version":1}',
    'mtls-injector.io/spiffe-id': 'spiffe://cluster.local/ns/shop/sa/web',
    'mtls-injector.io/inject': 'true',
    'example.com/note': 'a',
  },
};

/** UPDATE cases: the pod before, after, and whether the policy admits it. */
const cases: Record<string, { old: Meta; now: Meta; admitted: boolean }> = {
  'nothing of ours changes': { old: injected, now: injected, admitted: true },
  'other labels and annotations change': {
    old: injected,
    now: {
      labels: { ...injected.labels, app: 'web-2', tier: 'x' },
      annotations: { ...injected.annotations, 'example.com/note': 'b' },
    },
    admitted: true,
  },
  'the opt-out annotation changes': {
    old: injected,
    now: { ...injected, annotations: { ...injected.annotations, 'mtls-injector.io/inject': 'false' } },
    admitted: true,
  },
  'a pod without labels or annotations gets unrelated ones': {
    old: {},
    now: { labels: { a: 'b' }, annotations: { c: 'd' } },
    admitted: true,
  },
  'the Secret annotation is pointed at a neighbour': {
    old: injected,
    now: {
      ...injected,
      annotations: { ...injected.annotations, 'mtls-injector.io/secret': 'payments-0-mtls' },
    },
    admitted: false,
  },
  'the status annotation is removed': {
    old: injected,
    now: {
      ...injected,
      annotations: Object.fromEntries(
        Object.entries(injected.annotations ?? {}).filter(([k]) => k !== 'mtls-injector.io/status'),
      ),
    },
    admitted: false,
  },
  'a Secret annotation is added to a pod that had none of ours': {
    old: { labels: { app: 'x' } },
    now: { labels: { app: 'x' }, annotations: { 'mtls-injector.io/secret': 'payments-0-mtls' } },
    admitted: false,
  },
  'the managed label is removed': {
    old: injected,
    now: { ...injected, labels: { app: 'web' } },
    admitted: false,
  },
  'the managed label is added': {
    old: { labels: { app: 'x' } },
    now: { labels: { app: 'x', 'mtls-injector.io/managed': 'true' } },
    admitted: false,
  },
  'all labels are dropped': {
    old: injected,
    now: { annotations: injected.annotations ?? {} },
    admitted: false,
  },
};

const pod = (meta: Meta) => ({ metadata: { name: 'web-0', namespace: 'shop', ...meta }, spec: {} });

describeWithHelm(
  'chart ValidatingAdmissionPolicy (CEL)',
  () => {
    const objects = render();
    const policy = find<Policy>(objects, 'ValidatingAdmissionPolicy', 'mtls-injector-pod-keys');
    const binding = find<Binding>(objects, 'ValidatingAdmissionPolicyBinding', 'mtls-injector-pod-keys');

    /** Runs the policy as the API server does: variables, then validations; the messages of those that fail. */
    const refusals = (oldObject: object, object: object): string[] => {
      const bindings = { oldObject: toCel(oldObject), object: toCel(object) };
      const variables = new Map<string, unknown>();
      for (const v of policy.spec.variables)
        variables.set(v.name, cel?.run(v.expression, { ...bindings, variables }));
      return policy.spec.validations
        .filter((v) => cel?.run(v.expression, { ...bindings, variables }) !== true)
        .map((v) => v.message);
    };

    it('applies to pod UPDATEs only, fails closed, and is bound with Deny', () => {
      expect(policy.spec.matchConstraints.resourceRules).toEqual([
        { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods'] },
      ]);
      expect(policy.spec.failurePolicy).toBe('Fail');
      expect(binding.spec).toEqual({ policyName: 'mtls-injector-pod-keys', validationActions: ['Deny'] });
    });

    it.each(Object.entries(cases))('%s', (_name, { old, now, admitted }) => {
      const refused = refusals(pod(old), pod(now));
      expect(refused.length === 0).toBe(admitted);
      for (const message of refused) expect(message).toContain('delete and re-create the pod');
    });

    it('is left out with admissionPolicy.enabled=false', () => {
      const off = render(['--set', 'admissionPolicy.enabled=false']);
      expect(ofKind(off, 'ValidatingAdmissionPolicy')).toEqual([]);
      expect(ofKind(off, 'ValidatingAdmissionPolicyBinding')).toEqual([]);
    });
  },
  cel !== undefined,
);
