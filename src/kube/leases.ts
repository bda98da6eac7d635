import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { call, callOrUndefined, deadline } from './client.js';
import { leaseFromModel } from './convert.js';
import type { LeaseApi, LeaseObject } from './types.js';

/** LeaseApi over the real API server (coordination.k8s.io/v1). */
export function createLeaseApi(kc: KubeConfig): LeaseApi {
  const api = kc.makeApiClient(CoordinationV1Api);
  // MicroTime fields must go out as strings with six fractional digits (leaseFor writes them so): client-node
  // passes V1MicroTime through unchanged, and a Date would serialise with milliseconds, which the API server
  // rejects ("cannot parse .618Z as .000000").
  const body = (lease: LeaseObject): V1Lease => lease as V1Lease;
  return {
    get: async (namespace, name, options) => {
      const found = await callOrUndefined(
        `get Lease ${namespace}/${name}`,
        () => api.readNamespacedLease({ namespace, name }, deadline(options)),
        options,
      );
      return found === undefined ? undefined : leaseFromModel(found);
    },
    create: async (lease, options) =>
      leaseFromModel(
        await call(
          `create Lease ${lease.metadata.name ?? ''}`,
          () =>
            api.createNamespacedLease(
              { namespace: lease.metadata.namespace ?? '', body: body(lease) },
              deadline(options),
            ),
          options,
        ),
      ),
    replace: async (lease, options) =>
      leaseFromModel(
        await call(
          `replace Lease ${lease.metadata.name ?? ''}`,
          () =>
            api.replaceNamespacedLease(
              {
                namespace: lease.metadata.namespace ?? '',
                name: lease.metadata.name ?? '',
                body: body(lease),
              },
              deadline(options),
            ),
          options,
        ),
      ),
  };
}
