/**
 * Pod Certificates over the real API server: discovery of what certificates.k8s.io serves, the
 * PodCertificateRequests of our signer (watch, get, status writes) and ClusterTrustBundles. client-node 1.4 has
 * no models for certificates.k8s.io/v1 PodCertificateRequests, so objects travel as the API server's JSON
 * (CustomObjectsApi reaches built-in groups by path too): nothing is lost on the way through.
 */
import {
  ApisApi,
  CertificatesV1Api,
  CertificatesV1beta1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  VersionApi,
} from '@kubernetes/client-node';
import { call, callOrUndefined, deadline } from './client.js';
import {
  type ClusterTrustBundleApi,
  type ClusterTrustBundleObject,
  POD_CERTIFICATE_VERSIONS,
  type PodCertificateRequestApi,
  type PodCertificateRequestObject,
  type PodCertificateVersion,
  type ServedCertificateApis,
  type WatchSource,
} from './types.js';
import { createWatchSource } from './watch.js';

const GROUP = 'certificates.k8s.io';
const PCRS = 'podcertificaterequests';
const CTBS = 'clustertrustbundles';

/**
 * Asks the API server which certificates.k8s.io version serves podcertificaterequests (with its /status) and
 * clustertrustbundles, preferring v1. A release without the feature (1.34 and older, or 1.35/1.36 with the beta
 * API off) answers undefined for both.
 */
export async function discoverCertificateApis(kc: KubeConfig): Promise<ServedCertificateApis> {
  const groups = await call('list API groups', () => kc.makeApiClient(ApisApi).getAPIVersions(deadline()));
  const served = new Set(groups.groups.find((g) => g.name === GROUP)?.versions.map((v) => v.version) ?? []);
  let podCertificateRequests: PodCertificateVersion | undefined;
  let clusterTrustBundles: PodCertificateVersion | undefined;
  for (const version of POD_CERTIFICATE_VERSIONS) {
    if (!served.has(version)) continue;
    const api =
      version === 'v1' ? kc.makeApiClient(CertificatesV1Api) : kc.makeApiClient(CertificatesV1beta1Api);
    const list = await call(`discover ${GROUP}/${version}`, () => api.getAPIResources(deadline()));
    const names = new Set(list.resources.map((r) => r.name));
    if (podCertificateRequests === undefined && names.has(PCRS) && names.has(`${PCRS}/status`))
      podCertificateRequests = version;
    if (clusterTrustBundles === undefined && names.has(CTBS)) clusterTrustBundles = version;
  }
  const info = await call('get server version', () => kc.makeApiClient(VersionApi).getCode(deadline()));
  return { podCertificateRequests, clusterTrustBundles, serverVersion: info.gitVersion };
}

/** PodCertificateRequests of `version` over the real API server. */
export function createPodCertificateRequestApi(
  kc: KubeConfig,
  version: PodCertificateVersion,
): PodCertificateRequestApi {
  const api = kc.makeApiClient(CustomObjectsApi);
  const base = { group: GROUP, version, plural: PCRS };
  return {
    get: async (namespace, name, options) =>
      (await callOrUndefined(
        `get PodCertificateRequest ${namespace}/${name}`,
        () => api.getNamespacedCustomObject({ ...base, namespace, name }, deadline(options)),
        options,
      )) as PodCertificateRequestObject | undefined,
    updateStatus: async (pcr, options) => {
      const { namespace = '', name = '' } = pcr.metadata;
      return (await call(
        `update status of PodCertificateRequest ${namespace}/${name}`,
        () =>
          api.replaceNamespacedCustomObjectStatus(
            {
              ...base,
              namespace,
              name,
              body: { ...pcr, apiVersion: `${GROUP}/${version}`, kind: 'PodCertificateRequest' },
            },
            deadline(options),
          ),
        options,
      )) as PodCertificateRequestObject;
    },
    list: async (signerName, namespace) => {
      const items: PodCertificateRequestObject[] = [];
      let _continue: string | undefined;
      do {
        const options = {
          ...base,
          fieldSelector: `spec.signerName=${signerName}`,
          limit: 500,
          ...(_continue === undefined ? {} : { _continue }),
        };
        const page = (await call(`list PodCertificateRequests of ${signerName}`, () =>
          namespace === undefined
            ? api.listCustomObjectForAllNamespaces(options, deadline())
            : api.listNamespacedCustomObject({ ...options, namespace }, deadline()),
        )) as { items?: PodCertificateRequestObject[]; metadata?: { continue?: string } };
        items.push(...(page.items ?? []));
        _continue = page.metadata?.continue || undefined;
      } while (_continue !== undefined);
      return items;
    },
  };
}

/**
 * A watch of the PodCertificateRequests naming `signerName`, in every namespace (`createWatchSource`: synced
 * only after a good list, backoff with jitter).
 */
export function watchPodCertificateRequests(
  kc: KubeConfig,
  version: PodCertificateVersion,
  signerName: string,
): WatchSource<PodCertificateRequestObject> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const fieldSelector = `spec.signerName=${signerName}`;
  type Raw = KubernetesObject & PodCertificateRequestObject;
  return createWatchSource<Raw, PodCertificateRequestObject>(
    kc,
    `/apis/${GROUP}/${version}/${PCRS}`,
    async (page, options) =>
      (await api.listCustomObjectForAllNamespaces(
        { group: GROUP, version, plural: PCRS, fieldSelector, ...page },
        options,
      )) as KubernetesListObject<Raw>,
    (raw) => raw,
    undefined,
    fieldSelector,
  );
}

/** ClusterTrustBundles of `version` over the real API server. */
export function createClusterTrustBundleApi(
  kc: KubeConfig,
  version: PodCertificateVersion,
): ClusterTrustBundleApi {
  const api = kc.makeApiClient(CustomObjectsApi);
  const base = { group: GROUP, version, plural: CTBS };
  const body = (bundle: ClusterTrustBundleObject) => ({
    ...bundle,
    apiVersion: `${GROUP}/${version}`,
    kind: 'ClusterTrustBundle',
  });
  return {
    get: async (name, options) =>
      (await callOrUndefined(
        `get ClusterTrustBundle ${name}`,
        () => api.getClusterCustomObject({ ...base, name }, deadline(options)),
        options,
      )) as ClusterTrustBundleObject | undefined,
    create: async (bundle, options) =>
      (await call(
        `create ClusterTrustBundle ${bundle.metadata.name ?? ''}`,
        () => api.createClusterCustomObject({ ...base, body: body(bundle) }, deadline(options)),
        options,
      )) as ClusterTrustBundleObject,
    replace: async (bundle, options) =>
      (await call(
        `replace ClusterTrustBundle ${bundle.metadata.name ?? ''}`,
        () =>
          api.replaceClusterCustomObject(
            { ...base, name: bundle.metadata.name ?? '', body: body(bundle) },
            deadline(options),
          ),
        options,
      )) as ClusterTrustBundleObject,
  };
}
