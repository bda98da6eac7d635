import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { call } from './client.js';

/** An installation's config ConfigMap, as the CLI needs it (the chart's `<fullname>-config`). */
export interface InstalledConfigMap {
  readonly namespace: string;
  readonly name: string;
  /** The chart's `app.kubernetes.io/version` label (the product version installed), when set. */
  readonly version: string | undefined;
  /** The product's config file (`config.yaml`), when present. */
  readonly configYaml: string | undefined;
}

/** Lists the ConfigMaps matching a label selector, in one namespace or (undefined) in every namespace. */
export interface InstallationLookup {
  list(labelSelector: string, namespace: string | undefined): Promise<InstalledConfigMap[]>;
}

/** InstallationLookup over the real API server. Errors are KubeApiError (403 when RBAC forbids the list). */
export function createInstallationLookup(kc: KubeConfig): InstallationLookup {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    list: async (labelSelector, namespace) => {
      const page =
        namespace === undefined
          ? await call(`list ConfigMaps in all namespaces (${labelSelector})`, () =>
              core.listConfigMapForAllNamespaces({ labelSelector }),
            )
          : await call(`list ConfigMaps in namespace ${namespace} (${labelSelector})`, () =>
              core.listNamespacedConfigMap({ namespace, labelSelector }),
            );
      return page.items.map(toInstalled);
    },
  };
}

function toInstalled(cm: V1ConfigMap): InstalledConfigMap {
  return {
    namespace: cm.metadata?.namespace ?? '',
    name: cm.metadata?.name ?? '',
    version: cm.metadata?.labels?.['app.kubernetes.io/version'],
    configYaml: cm.data?.['config.yaml'],
  };
}
