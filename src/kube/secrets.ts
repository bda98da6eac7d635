import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { call, callOrUndefined } from './client.js';
import type { SecretApi, SecretObject } from './types.js';

/** SecretApi over the real API server. */
export function createSecretApi(kc: KubeConfig): SecretApi {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    get: (namespace, name) =>
      callOrUndefined(`get Secret ${namespace}/${name}`, () =>
        core.readNamespacedSecret({ namespace, name }),
      ) as Promise<SecretObject | undefined>,
    create: (secret) =>
      call(`create Secret ${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}`, () =>
        core.createNamespacedSecret({ namespace: secret.metadata.namespace ?? '', body: secret as V1Secret }),
      ) as Promise<SecretObject>,
    replace: (secret) =>
      call(`replace Secret ${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}`, () =>
        core.replaceNamespacedSecret({
          namespace: secret.metadata.namespace ?? '',
          name: secret.metadata.name ?? '',
          body: secret as V1Secret,
        }),
      ) as Promise<SecretObject>,
    list: async (labelSelector) => {
      const items: SecretObject[] = [];
      let _continue: string | undefined;
      do {
        const page = await call(`list Secrets (${labelSelector})`, () =>
          core.listSecretForAllNamespaces({
            labelSelector,
            limit: 500,
            ...(_continue === undefined ? {} : { _continue }),
          }),
        );
        items.push(...(page.items as SecretObject[]));
        _continue = page.metadata?._continue || undefined;
      } while (_continue !== undefined);
      return items;
    },
    delete: async (namespace, name) => {
      await callOrUndefined(`delete Secret ${namespace}/${name}`, () =>
        core.deleteNamespacedSecret({ namespace, name }),
      );
    },
  };
}
