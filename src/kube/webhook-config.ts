import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { call, callOrUndefined, deadline } from './client.js';
import type { WebhookConfigApi } from './types.js';

/**
 * Reads and sets the caBundle of one MutatingWebhookConfiguration by name. It replaces the object it read
 * (resourceVersion kept), changing nothing but clientConfig.caBundle, so RBAC can limit the rotator to that
 * one name.
 */
export function createWebhookConfigApi(kc: KubeConfig): WebhookConfigApi {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  return {
    async getCaBundles(name, options) {
      const obj = await callOrUndefined(
        `get MutatingWebhookConfiguration ${name}`,
        () => api.readMutatingWebhookConfiguration({ name }, deadline(options)),
        options,
      );
      if (obj === undefined) return undefined;
      return {
        caBundles: (obj.webhooks ?? []).map((w) => w.clientConfig.caBundle ?? ''),
        resourceVersion: obj.metadata?.resourceVersion ?? '',
        uid: obj.metadata?.uid ?? '',
      };
    },
    async setCaBundle(name, caBundleBase64, resourceVersion, options) {
      const end = Date.now() + (options?.timeoutMs ?? 0);
      const obj = await call(
        `get MutatingWebhookConfiguration ${name}`,
        () => api.readMutatingWebhookConfiguration({ name }, deadline(options)),
        options,
      );
      const body: V1MutatingWebhookConfiguration = {
        ...obj,
        metadata: { ...obj.metadata, resourceVersion },
        webhooks: (obj.webhooks ?? []).map((w) => ({
          ...w,
          clientConfig: { ...w.clientConfig, caBundle: caBundleBase64 },
        })),
      };
      // Both requests within the one deadline the caller gave.
      const rest = options?.timeoutMs === undefined ? undefined : { timeoutMs: end - Date.now() };
      await call(
        `update caBundle of MutatingWebhookConfiguration ${name}`,
        () => api.replaceMutatingWebhookConfiguration({ name, body }, deadline(rest)),
        rest,
      );
    },
  };
}

/**
 * Deletes the MutatingWebhookConfiguration `name`; false when it did not exist. The pre-delete hook of the
 * chart runs this first on `helm uninstall`, so the API server stops calling the webhook before Helm deletes
 * its Service and Deployment.
 */
export async function deleteWebhookConfiguration(kc: KubeConfig, name: string): Promise<boolean> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const deleted = await callOrUndefined(`delete MutatingWebhookConfiguration ${name}`, () =>
    api.deleteMutatingWebhookConfiguration({ name }),
  );
  return deleted !== undefined;
}
