/**
 * Validates every rendered built-in object against the Kubernetes OpenAPI schemas that kubernetes-models
 * compiles (types, required fields, enums): the offline stand-in for `kubectl apply --dry-run`. It does not
 * catch unknown fields; the end-to-end suite's `helm install` into a real API server does.
 */
import { expect, it } from 'vitest';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { describeWithHelm, render, VALUE_SETS } from './helm.js';

type Validator = (data: unknown) => void;
function validator<T>(Model: new (data: T) => { validate(): void }): Validator {
  return (data) => new Model(data as T).validate();
}

const MODELS: Readonly<Record<string, Validator>> = {
  'admissionregistration.k8s.io/v1 MutatingWebhookConfiguration': validator(MutatingWebhookConfiguration),
  'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy': validator(ValidatingAdmissionPolicy),
  'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding': validator(
    ValidatingAdmissionPolicyBinding,
  ),
  'apps/v1 Deployment': validator(Deployment),
  'batch/v1 Job': validator(Job),
  'networking.k8s.io/v1 NetworkPolicy': validator(NetworkPolicy),
  'policy/v1 PodDisruptionBudget': validator(PodDisruptionBudget),
  'rbac.authorization.k8s.io/v1 ClusterRole': validator(ClusterRole),
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': validator(ClusterRoleBinding),
  'rbac.authorization.k8s.io/v1 Role': validator(Role),
  'rbac.authorization.k8s.io/v1 RoleBinding': validator(RoleBinding),
  'v1 ConfigMap': validator(ConfigMap),
  'v1 Namespace': validator(Namespace),
  'v1 Service': validator(Service),
  'v1 ServiceAccount': validator(ServiceAccount),
};
/** CRD kinds we render but cannot validate offline (their CRDs are not part of kubernetes-models). */
const CRDS = new Set(['monitoring.coreos.com/v1 ServiceMonitor', 'monitoring.coreos.com/v1 PrometheusRule']);

describeWithHelm('chart objects against the Kubernetes API schemas', () => {
  it.each(Object.entries(VALUE_SETS))('validates every object (%s)', (_name, set) => {
    for (const o of render(set)) {
      const key = `${o.apiVersion} ${o.kind}`;
      if (CRDS.has(key)) continue;
      const validate = MODELS[key];
      expect(validate, `no validator for ${key}`).toBeDefined();
      expect(() => validate?.(o), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });
});
