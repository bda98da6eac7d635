/** The mtls-init container injection adds first to every pod: built once per plan and shared, or brought up to date. */
import {
  ENV_INIT_TRUST_DOMAIN,
  ENV_INIT_WAIT_TIMEOUT,
  ENV_POD_NAME,
  ENV_POD_NAMESPACE,
  ENV_POD_SERVICE_ACCOUNT,
  INIT_BINARY_PATH,
  INIT_CONTAINER_NAME,
  INIT_NODE_ARGS,
} from '../names.js';
import type { RawContainer, RawEnvVar } from '../pod.js';
import type { InjectionPlan } from './inject.js';
import { template } from './json-text.js';
import { ensureMount } from './mounts.js';

/**
 * Resources of mtls-init: it reads three small files and exits. In Linux pods it is the static Go binary
 * (about 3 ms of CPU per run); in Windows pods it is Node, whose start-up and module loading are most of its
 * ~0.1 s of CPU, and the CPU limit lets that run on a whole core (at 200m it took about five times as long,
 * all of it added to every pod's start; docs/using-mtls.md, "Start-up time and the init container"). A limit
 * is kept so namespaces whose ResourceQuota requires one still admit the pod.
 */
export const INIT_RESOURCES = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { cpu: '1', memory: '128Mi' },
} as const;

/** PodSecurity "restricted" for Linux pods. */
export const INIT_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

/** Windows pods reject the Linux-only fields (runAsUser, capabilities, seccomp, …). */
const INIT_SECURITY_CONTEXT_WINDOWS = {
  runAsNonRoot: true,
  windowsOptions: { runAsUserName: 'ContainerUser' },
} as const;

// `apiVersion: v1` is what the API server defaults a fieldRef to; writing it keeps reinvocation patch-free.
function fieldRef(name: string, fieldPath: string): RawEnvVar {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

function initEnv(plan: InjectionPlan): RawEnvVar[] {
  return [
    fieldRef(ENV_POD_NAMESPACE, 'metadata.namespace'),
    fieldRef(ENV_POD_NAME, 'metadata.name'),
    fieldRef(ENV_POD_SERVICE_ACCOUNT, 'spec.serviceAccountName'),
    { name: ENV_INIT_TRUST_DOMAIN, value: plan.identity.trustDomain },
    { name: ENV_INIT_WAIT_TIMEOUT, value: `${plan.initWaitTimeoutSeconds}s` },
  ];
}

/** mtls-init as a new pod gets it, by everything it depends on; a handful per process, so never evicted in practice. */
const initTemplates = new Map<string, RawContainer>();
const MAX_INIT_TEMPLATES = 64;

/** A new mtls-init for the plan: built once, then the same frozen object (and JSON text) for every pod. */
export function initContainerTemplate(plan: InjectionPlan): RawContainer {
  const key = [
    plan.initImage,
    plan.initImagePullPolicy,
    plan.identity.trustDomain,
    plan.initWaitTimeoutSeconds,
    plan.windows,
  ].join('\n');
  let container = initTemplates.get(key);
  if (container === undefined) {
    if (initTemplates.size >= MAX_INIT_TEMPLATES) initTemplates.clear();
    container = template(ensureInitContainer({ name: INIT_CONTAINER_NAME }, plan));
    initTemplates.set(key, container);
  }
  return container;
}

/**
 * mtls-init in its wanted state. An existing one (ours, from an earlier pass) keeps fields other webhooks or
 * API-server defaulting added (terminationMessagePath, extra mounts), so a reinvocation does not undo them.
 * `container` is changed in place: pass a copy.
 */
export function ensureInitContainer(container: RawContainer, plan: InjectionPlan): RawContainer {
  container.image = plan.initImage;
  container.imagePullPolicy = plan.initImagePullPolicy;
  // Linux: the static binary, named in `command` so what `kubectl get pod -o yaml` shows is what runs.
  // Windows: the image's entrypoint (Node) with `init`, as before. The other field is removed, so a pod
  // injected by an older release is brought up to date on reinvocation.
  if (plan.windows) {
    delete container.command;
    container.args = [...INIT_NODE_ARGS];
  } else {
    container.command = [INIT_BINARY_PATH];
    delete container.args;
  }
  const env = (container.env ??= []);
  for (const variable of initEnv(plan)) {
    const index = env.findIndex((e) => e.name === variable.name);
    if (index >= 0) env[index] = variable;
    else env.push(variable);
  }
  container.resources = { requests: { ...INIT_RESOURCES.requests }, limits: { ...INIT_RESOURCES.limits } };
  container.securityContext = plan.windows
    ? {
        ...INIT_SECURITY_CONTEXT_WINDOWS,
        windowsOptions: { ...INIT_SECURITY_CONTEXT_WINDOWS.windowsOptions },
      }
    : {
        ...INIT_SECURITY_CONTEXT,
        capabilities: { drop: [...INIT_SECURITY_CONTEXT.capabilities.drop] },
        seccompProfile: { ...INIT_SECURITY_CONTEXT.seccompProfile },
      };
  ensureMount(container);
  return container;
}
