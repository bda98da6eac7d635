import { type RotatorCache, selects } from './cache.js';

/**
 * DNS SANs of a pod with `labels` in `namespace`, for every Service there whose selector matches: the `.svc`
 * and `.svc.<clusterDomain>` forms, which only the cluster's DNS answers; the short forms `<svc>` and
 * `<svc>.<ns>` (which can be public names, `web.dev`) only with `shortNames` (`dnsShortNames`). Sorted. The
 * same for Secrets and pod certificates.
 */
export function dnsNamesFor(
  cache: Pick<RotatorCache, 'servicesIn'>,
  namespace: string,
  labels: Readonly<Record<string, string>>,
  clusterDomain: string,
  shortNames: boolean,
): string[] {
  const names: string[] = [];
  for (const [service, selector] of cache.servicesIn(namespace)) {
    if (!selects(selector, labels)) continue;
    names.push(`${service}.${namespace}.svc`, `${service}.${namespace}.svc.${clusterDomain}`);
    if (shortNames) names.push(service, `${service}.${namespace}`);
  }
  return names.sort();
}
