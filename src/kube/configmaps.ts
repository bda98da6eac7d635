import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { call, callOrUndefined, deadline } from './client.js';
import type { ConfigMapApi, ConfigMapObject } from './types.js';

/** A ConfigMap from client-node. */
export function configMapFromModel(cm: V1ConfigMap): ConfigMapObject {
  return { ...cm, metadata: cm.metadata ?? {} };
}

/** ConfigMapApi over the real API server. */
export function createConfigMapApi(kc: KubeConfig): ConfigMapApi {
  const core = kc.makeApiClient(CoreV1Api);
  const where = (cm: ConfigMapObject) => `${cm.metadata.namespace ?? ''}/${cm.metadata.name ?? ''}`;
  return {
    get: async (namespace, name, options) => {
      const found = await callOrUndefined(
        `get ConfigMap ${namespace}/${name}`,
        () => core.readNamespacedConfigMap({ namespace, name }, deadline(options)),
        options,
      );
      return found === undefined ? undefined : configMapFromModel(found);
    },
    create: async (cm, options) =>
      configMapFromModel(
        await call(
          `create ConfigMap ${where(cm)}`,
          () =>
            core.createNamespacedConfigMap(
              { namespace: cm.metadata.namespace ?? '', body: cm as V1ConfigMap },
              deadline(options),
            ),
          options,
        ),
      ),
    replace: async (cm, options) =>
      configMapFromModel(
        await call(
          `replace ConfigMap ${where(cm)}`,
          () =>
            core.replaceNamespacedConfigMap(
              {
                namespace: cm.metadata.namespace ?? '',
                name: cm.metadata.name ?? '',
                body: cm as V1ConfigMap,
              },
              deadline(options),
            ),
          options,
        ),
      ),
  };
}
