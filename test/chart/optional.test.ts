import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { expect, it } from 'vitest';
import { find, describeWithHelm, NAMESPACE, ofKind, render, VALUE_SETS } from './helm.js';

const WEBHOOK = 'mtls-injector-webhook';
const ROTATOR = 'mtls-injector-rotator';

describeWithHelm('chart optional parts', () => {
  it('renders no NetworkPolicy and no ServiceMonitor by default', () => {
    expect(ofKind(render(), 'NetworkPolicy')).toEqual([]);
    expect(ofKind(render(), 'ServiceMonitor')).toEqual([]);
  });

  it('lets HTTPS reach the webhook from anywhere, and lets the webhook send nothing', () => {
    const objects = render(VALUE_SETS['networkPolicy on']);
    const webhook = find<INetworkPolicy>(objects, 'NetworkPolicy', WEBHOOK);
    const deployment = find<IDeployment>(objects, 'Deployment', WEBHOOK);
    expect(webhook.spec?.podSelector.matchLabels).toEqual(deployment.spec?.selector.matchLabels);
    expect(webhook.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(webhook.spec?.ingress).toEqual([
      { ports: [{ port: 10250, protocol: 'TCP' }] },
      { ports: [{ port: 9090, protocol: 'TCP' }] },
    ]);
    expect(webhook.spec?.egress).toEqual([]);
  });

  it('lets the rotator reach only the API server ports (and given CIDRs), metrics only from metricsFrom', () => {
    const peer = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
    const objects = render([
      '--set', 'networkPolicy.enabled=true',
      '--set', 'networkPolicy.apiServer.cidrs={10.0.0.1/32}',
      '--set-json', `networkPolicy.metricsFrom=${JSON.stringify([peer])}`,
    ]); // prettier-ignore
    const rotator = find<INetworkPolicy>(objects, 'NetworkPolicy', ROTATOR);
    expect(rotator.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(rotator.spec?.ingress).toEqual([{ ports: [{ port: 9091, protocol: 'TCP' }], from: [peer] }]);
    expect(rotator.spec?.egress).toEqual([
      {
        ports: [
          { port: 443, protocol: 'TCP' },
          { port: 6443, protocol: 'TCP' },
        ],
        to: [{ ipBlock: { cidr: '10.0.0.1/32' } }],
      },
    ]);
    const webhook = find<INetworkPolicy>(objects, 'NetworkPolicy', WEBHOOK);
    expect(webhook.spec?.ingress?.[0]?.from).toBeUndefined();
    expect(webhook.spec?.ingress?.[1]?.from).toEqual([peer]);
  });

  it('scrapes the metrics port of both components with a ServiceMonitor', () => {
    const objects = render([
      ...VALUE_SETS['serviceMonitor on']!,
      '--set',
      'serviceMonitor.labels.release=prom',
    ]);
    const [sm, ...more] = ofKind(objects, 'ServiceMonitor');
    expect(more).toEqual([]);
    expect(sm).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      metadata: { namespace: NAMESPACE, labels: { release: 'prom' } },
      spec: {
        namespaceSelector: { matchNames: [NAMESPACE] },
        endpoints: [
          { port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s', scrapeTimeout: '10s' },
        ],
      },
    });
    const selector = (sm?.['spec'] as { selector: { matchLabels: Record<string, string> } }).selector
      .matchLabels;
    const scraped = ofKind(objects, 'Service').filter((s) =>
      Object.entries(selector).every(
        ([k, v]) => (s.metadata as { labels?: Record<string, string> }).labels?.[k] === v,
      ),
    );
    const withMetricsPort = scraped.filter((s) =>
      (s['spec'] as { ports: { name: string }[] }).ports.some((p) => p.name === 'metrics'),
    );
    expect(withMetricsPort.map((s) => s.metadata.name).sort()).toEqual([
      `${ROTATOR}-metrics`,
      `${WEBHOOK}-metrics`,
    ]);
  });

  it('spreads webhook pods over zones when asked, and passes pull secrets and scheduling through', () => {
    const objects = render([
      ...VALUE_SETS['everything']!,
      '--set', 'webhook.nodeSelector.pool=system',
      '--set', 'webhook.priorityClassName=system-cluster-critical',
      '--set', 'webhook.podLabels.team=platform',
    ]); // prettier-ignore
    const spec = find<IDeployment>(objects, 'Deployment', WEBHOOK).spec?.template;
    expect(spec?.spec?.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: {
          matchLabels: find<IDeployment>(objects, 'Deployment', WEBHOOK).spec?.selector.matchLabels,
        },
        matchLabelKeys: ['pod-template-hash'],
      },
    ]);
    expect(spec?.spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(spec?.spec?.nodeSelector).toEqual({ pool: 'system' });
    expect(spec?.spec?.priorityClassName).toBe('system-cluster-critical');
    expect(spec?.metadata?.labels?.['team']).toBe('platform');
  });

  it('replaces the default anti-affinity when an affinity is given', () => {
    const affinity = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
    };
    const objects = render(['--set-json', `rotator.affinity=${JSON.stringify(affinity)}`]);
    expect(find<IDeployment>(objects, 'Deployment', ROTATOR).spec?.template.spec?.affinity).toEqual(affinity);
  });
});
