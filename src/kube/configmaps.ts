import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { call, callOrUndefined } from './client.js';
import type { ConfigMapApi, ConfigMapObject } from './types.js';

/** ConfigMapApi over the real API server. */
export function createConfigMapApi(kc: KubeConfig): ConfigMapApi {
  const core = kc.makeApiClient(CoreV1Api);
  const convert = (cm: V1ConfigMap): ConfigMapObject => ({ ...cm, metadata: cm.metadata ?? {} });
  const what = (cm: ConfigMapObject) => `${cm.metadata.namespace ?? ''}/${cm.metadata.name ?? ''}`;
  return {
    get: async (namespace, name) => {
      const found = await callOrUndefined(`get ConfigMap ${namespace}/${name}`, () =>
        core.readNamespacedConfigMap({ namespace, name }),
      );
      return found === undefined ? undefined : convert(found);
    },
    create: async (cm) =>
      convert(
        await call(`create ConfigMap ${what(cm)}`, () =>
          core.createNamespacedConfigMap({ namespace: cm.metadata.namespace ?? '', body: cm as V1ConfigMap }),
        ),
      ),
    replace: async (cm) =>
      convert(
        await call(`replace ConfigMap ${what(cm)}`, () =>
          core.replaceNamespacedConfigMap({
            namespace: cm.metadata.namespace ?? '',
            name: cm.metadata.name ?? '',
            body: cm as V1ConfigMap,
          }),
        ),
      ),
  };
}
