import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { call, callOrUndefined } from './client.js';
import type { LeaseApi, LeaseObject } from './types.js';

/** LeaseApi over the real API server (coordination.k8s.io/v1). */
export function createLeaseApi(kc: KubeConfig): LeaseApi {
  const api = kc.makeApiClient(CoordinationV1Api);
  // MicroTime fields must go out as strings with six fractional digits (leaseFor writes them so): client-node
  // passes V1MicroTime through unchanged, and a Date would serialise with milliseconds, which the API server
  // rejects ("cannot parse .618Z as .000000").
  const body = (lease: LeaseObject): V1Lease => lease as V1Lease;
  return {
    get: (namespace, name) =>
      callOrUndefined(`get Lease ${namespace}/${name}`, () =>
        api.readNamespacedLease({ namespace, name }),
      ) as Promise<LeaseObject | undefined>,
    create: (lease) =>
      call(`create Lease ${lease.metadata.name ?? ''}`, () =>
        api.createNamespacedLease({ namespace: lease.metadata.namespace ?? '', body: body(lease) }),
      ) as Promise<LeaseObject>,
    replace: (lease) =>
      call(`replace Lease ${lease.metadata.name ?? ''}`, () =>
        api.replaceNamespacedLease({
          namespace: lease.metadata.namespace ?? '',
          name: lease.metadata.name ?? '',
          body: body(lease),
        }),
      ) as Promise<LeaseObject>,
  };
}
