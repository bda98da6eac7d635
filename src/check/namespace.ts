import { OPT_IN_LABEL } from '../core/names.js';
import type { PodObject } from '../kube/types.js';
import type { NamespaceObject } from '../kube/types.js';
import { namespaceMode, podOptsIn } from '../model/selection.js';
import { findLostOptIn, type LostOptIn } from '../model/drift.js';
import { type CheckResult, fail, pass } from './result.js';

const MAX_LISTED = 5;

/**
 * `namespace`: is it opted in (enabled or strict); if not, do injected pods still run there (it lost the
 * label, faults G5), or do some pods opt in by themselves. Pure.
 */
export function checkNamespace(
  name: string,
  namespace: NamespaceObject | undefined,
  pods: readonly PodObject[],
  excludedNamespaces: readonly string[],
): CheckResult {
  if (namespace === undefined) {
    return fail(
      'namespace',
      'error',
      'namespace_missing',
      `namespace ${name} not found`,
      'check -n and the kubeconfig context',
    );
  }
  if (excludedNamespaces.includes(name)) {
    return pass('namespace', 'excluded_namespace', `namespace ${name} is never injected (excluded)`);
  }
  const labels = namespace.metadata.labels;
  const mode = namespaceMode(labels);
  if (mode !== undefined)
    return pass('namespace', 'opted_in', `namespace ${name} is opted in (${OPT_IN_LABEL}=${mode})`);
  const [lost] = findLostOptIn([{ name, labels }], pods);
  if (lost !== undefined) return lostOptInResult('namespace', lost);
  const selfOptIn = pods.filter((p) => podOptsIn(p.metadata.labels)).length;
  if (selfOptIn > 0 && labels?.[OPT_IN_LABEL] === undefined) {
    return pass(
      'namespace',
      'pod_opt_in',
      `namespace ${name} is not labelled; ${selfOptIn} pod(s) opt in with their own ${OPT_IN_LABEL}=enabled label`,
    );
  }
  const value = labels?.[OPT_IN_LABEL];
  return fail(
    'namespace',
    'warning',
    'not_opted_in',
    `namespace ${name} is not opted in (${value === undefined ? 'no' : `${OPT_IN_LABEL}=${value}, not enabled|strict, so no`} ${OPT_IN_LABEL} label): no pod there is injected`,
    `kubectl label namespace ${name} ${OPT_IN_LABEL}=enabled, then mtls-injector onboard -n ${name}`,
  );
}

/** A failing check for a namespace that lost its opt-in label while injected pods still run there (G5). */
export function lostOptInResult(checkName: string, lost: LostOptIn): CheckResult {
  const listed = lost.injectedPods.slice(0, MAX_LISTED).join(', ');
  const more =
    lost.injectedPods.length > MAX_LISTED ? ` and ${lost.injectedPods.length - MAX_LISTED} more` : '';
  return fail(
    checkName,
    'warning',
    'lost_opt_in',
    `namespace ${lost.namespace} is no longer opted in (${lost.labelValue === undefined ? 'label removed' : `${OPT_IN_LABEL}=${lost.labelValue}`}) but ${lost.injectedPods.length} injected pod(s) still run there (${listed}${more}): their replacements will get no identity`,
    `label it again (kubectl label namespace ${lost.namespace} ${OPT_IN_LABEL}=enabled --overwrite), or restart its workloads to drop the identities on purpose`,
  );
}
