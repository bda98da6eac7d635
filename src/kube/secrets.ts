import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { call, callOrUndefined, deadline } from './client.js';
import { secretFromModel } from './convert.js';
import type { SecretApi, SecretObject } from './types.js';

/** SecretApi over the real API server. */
export function createSecretApi(kc: KubeConfig): SecretApi {
  const core = kc.makeApiClient(CoreV1Api);
  // Our SecretObject is the read-only slice of V1Secret the product builds; the API takes it as sent.
  const body = (secret: SecretObject): V1Secret => secret as V1Secret;
  return {
    get: async (namespace, name, options) => {
      const found = await callOrUndefined(
        `get Secret ${namespace}/${name}`,
        () => core.readNamespacedSecret({ namespace, name }, deadline(options)),
        options,
      );
      return found === undefined ? undefined : secretFromModel(found);
    },
    create: async (secret, options) =>
      secretFromModel(
        await call(
          `create Secret ${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}`,
          () =>
            core.createNamespacedSecret(
              { namespace: secret.metadata.namespace ?? '', body: body(secret) },
              deadline(options),
            ),
          options,
        ),
      ),
    replace: async (secret, options) =>
      secretFromModel(
        await call(
          `replace Secret ${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}`,
          () =>
            core.replaceNamespacedSecret(
              {
                namespace: secret.metadata.namespace ?? '',
                name: secret.metadata.name ?? '',
                body: body(secret),
              },
              deadline(options),
            ),
          options,
        ),
      ),
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
        items.push(...page.items.map(secretFromModel));
        _continue = page.metadata?._continue || undefined;
      } while (_continue !== undefined);
      return items;
    },
    delete: async (namespace, name, options) => {
      await callOrUndefined(
        `delete Secret ${namespace}/${name}`,
        () => core.deleteNamespacedSecret({ namespace, name }, deadline(options)),
        options,
      );
    },
  };
}
