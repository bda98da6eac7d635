import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { call, callOrUndefined } from './client.js';
import {
  fromDaemonSet,
  fromDeployment,
  fromStatefulSet,
  namespaceFromModel,
  replicaSetFromModel,
  secretFromModel,
  serviceFromModel,
} from './convert.js';
import { configMapFromModel } from './configmaps.js';
import { listRaw, rawBody } from './raw.js';
import { apiStatus, type InspectApi, type PodObject, type SecretObject, type WorkloadApi } from './types.js';

/** The pod-template annotation `kubectl rollout restart` sets; changing it rolls the workload. */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/** WorkloadApi and InspectApi over the real API server. */
export function createWorkloadApi(kc: KubeConfig): WorkloadApi & InspectApi {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  return {
    async getNamespace(name) {
      const found = await callOrUndefined(`get Namespace ${name}`, () => core.readNamespace({ name }));
      return found === undefined ? undefined : namespaceFromModel(found);
    },
    listPods: (namespace) =>
      listRaw(`list Pods in ${namespace}`, (cont, options) =>
        core.listNamespacedPod(
          { namespace, limit: 500, ...(cont === undefined ? {} : { _continue: cont }) },
          options,
        ),
      ),
    listPodsAllNamespaces: (labelSelector) =>
      listRaw(`list Pods (${labelSelector})`, (cont, options) =>
        core.listPodForAllNamespaces(
          { labelSelector, limit: 500, ...(cont === undefined ? {} : { _continue: cont }) },
          options,
        ),
      ),
    async getPod(namespace, name) {
      const raw = rawBody();
      const found = await callOrUndefined(`get Pod ${namespace}/${name}`, () =>
        core.readNamespacedPod({ namespace, name }, raw.options),
      );
      return found === undefined ? undefined : (raw.json() as PodObject);
    },
    async listReplicaSets(namespace) {
      const list = await call(`list ReplicaSets in ${namespace}`, () =>
        apps.listNamespacedReplicaSet({ namespace }),
      );
      return list.items.map(replicaSetFromModel);
    },
    async listWorkloads(namespace) {
      const [deployments, statefulSets, daemonSets] = await Promise.all([
        call(`list Deployments in ${namespace}`, () => apps.listNamespacedDeployment({ namespace })),
        call(`list StatefulSets in ${namespace}`, () => apps.listNamespacedStatefulSet({ namespace })),
        call(`list DaemonSets in ${namespace}`, () => apps.listNamespacedDaemonSet({ namespace })),
      ]);
      return [
        ...deployments.items.map(fromDeployment),
        ...statefulSets.items.map(fromStatefulSet),
        ...daemonSets.items.map(fromDaemonSet),
      ];
    },
    async getWorkload(kind, namespace, name) {
      const what = `get ${kind} ${namespace}/${name}`;
      switch (kind) {
        case 'Deployment': {
          const d = await callOrUndefined(what, () => apps.readNamespacedDeployment({ namespace, name }));
          return d === undefined ? undefined : fromDeployment(d);
        }
        case 'StatefulSet': {
          const s = await callOrUndefined(what, () => apps.readNamespacedStatefulSet({ namespace, name }));
          return s === undefined ? undefined : fromStatefulSet(s);
        }
        case 'DaemonSet': {
          const d = await callOrUndefined(what, () => apps.readNamespacedDaemonSet({ namespace, name }));
          return d === undefined ? undefined : fromDaemonSet(d);
        }
      }
    },
    async restartWorkload(kind, namespace, name, restartedAt) {
      const body = restartPatchBody(restartedAt);
      const what = `restart ${kind} ${namespace}/${name}`;
      switch (kind) {
        case 'Deployment':
          return fromDeployment(
            await call(what, () => apps.patchNamespacedDeployment({ namespace, name, body }, mergePatch)),
          );
        case 'StatefulSet':
          return fromStatefulSet(
            await call(what, () => apps.patchNamespacedStatefulSet({ namespace, name, body }, mergePatch)),
          );
        case 'DaemonSet':
          return fromDaemonSet(
            await call(what, () => apps.patchNamespacedDaemonSet({ namespace, name, body }, mergePatch)),
          );
      }
    },
    async getWebhookConfiguration(name) {
      const obj = await callOrUndefined(`get MutatingWebhookConfiguration ${name}`, () =>
        admission.readMutatingWebhookConfiguration({ name }),
      );
      if (obj === undefined) return undefined;
      return {
        name,
        webhooks: (obj.webhooks ?? []).map((w) => ({
          name: w.name,
          caBundle: w.clientConfig.caBundle ?? '',
          ...(w.clientConfig.service === undefined
            ? {}
            : {
                service: {
                  namespace: w.clientConfig.service.namespace,
                  name: w.clientConfig.service.name,
                  path: w.clientConfig.service.path,
                },
              }),
          url: w.clientConfig.url,
          failurePolicy: w.failurePolicy,
        })),
      };
    },
    async listSecrets(namespace, labelSelector) {
      const items: SecretObject[] = [];
      let cont: string | undefined;
      do {
        const page = await call(`list Secrets in ${namespace} (${labelSelector})`, () =>
          core.listNamespacedSecret({
            namespace,
            labelSelector,
            limit: 500,
            ...(cont === undefined ? {} : { _continue: cont }),
          }),
        );
        items.push(...page.items.map(secretFromModel));
        cont = page.metadata?._continue === '' ? undefined : page.metadata?._continue;
      } while (cont !== undefined);
      return items;
    },
    async getConfigMap(namespace, name) {
      const found = await callOrUndefined(`get ConfigMap ${namespace}/${name}`, () =>
        core.readNamespacedConfigMap({ namespace, name }),
      );
      return found === undefined ? undefined : configMapFromModel(found);
    },
    async getService(namespace, name) {
      const found = await callOrUndefined(`get Service ${namespace}/${name}`, () =>
        core.readNamespacedService({ namespace, name }),
      );
      return found === undefined ? undefined : serviceFromModel(found);
    },
    async serviceEndpoints(namespace, service) {
      try {
        const slices = await call(`list EndpointSlices of Service ${namespace}/${service}`, () =>
          discovery.listNamespacedEndpointSlice({
            namespace,
            labelSelector: `kubernetes.io/service-name=${service}`,
          }),
        );
        let ready = 0;
        let notReady = 0;
        for (const slice of slices.items) {
          for (const endpoint of slice.endpoints) {
            // EndpointSlice API: a nil `ready` condition means ready.
            const count = endpoint.addresses.length;
            if (endpoint.conditions?.ready === false) notReady += count;
            else ready += count;
          }
        }
        return { ready, notReady, source: 'EndpointSlice' };
      } catch (err) {
        // Older RBAC grants only v1 Endpoints: fall back before giving up.
        if (apiStatus(err) !== 403 && apiStatus(err) !== 404) throw err;
        const endpoints = await callOrUndefined(`get Endpoints ${namespace}/${service}`, () =>
          core.readNamespacedEndpoints({ namespace, name: service }),
        );
        let ready = 0;
        let notReady = 0;
        for (const subset of endpoints?.subsets ?? []) {
          ready += subset.addresses?.length ?? 0;
          notReady += subset.notReadyAddresses?.length ?? 0;
        }
        return { ready, notReady, source: 'Endpoints' };
      }
    },
  };
}

/** The merge patch `kubectl rollout restart` sends: only the pod template's restartedAt annotation. */
export function restartPatchBody(restartedAt: string): {
  spec: { template: { metadata: { annotations: Record<string, string> } } };
} {
  return { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } } };
}
