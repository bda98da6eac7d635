// The objects of the rotator scale test (bench/rotator-scale.mjs) as the API server holds and sends them: an
// injected ReplicaSet pod (containers, status, managedFields) and the managedFields entry of a Secret the
// rotator wrote. Used by the in-memory API server (bench/rotator/api-server.mjs), in its own process.

/** Namespaces the pods are spread over. */
export const NAMESPACES = 50;

/** The managedFields entry the API server adds to a Secret the rotator wrote. */
export function managedFields(at) {
  const time = new Date(at).toISOString().replace(/\.\d+Z$/, 'Z');
  return [
    {
      manager: 'mtls-injector',
      operation: 'Update',
      apiVersion: 'v1',
      time,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:data': { '.': {}, 'f:ca.crt': {}, 'f:tls.crt': {}, 'f:tls.key': {} },
        'f:metadata': {
          'f:annotations': { '.': {}, 'f:mtls-injector.io/spiffe-id': {} },
          'f:labels': { '.': {}, 'f:mtls-injector.io/managed': {}, 'f:mtls-injector.io/pod': {} },
          'f:ownerReferences': { '.': {}, 'k:{"uid":"…"}': {} },
        },
        'f:type': {},
      },
    },
  ];
}

/**
 * A pod as the API server sends it after the webhook injected it: a ReplicaSet's pod with one app container,
 * the mtls-init container, the token volume, status with conditions and container statuses, managedFields.
 */
export function podAt(i) {
  const ns = `ns-${i % NAMESPACES}`;
  const name = `app-${i}`;
  const hash = (i * 2654435761).toString(16).slice(-10);
  const created = '2026-11-22T12:00:00Z';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `app-${hash}-`,
      namespace: ns,
      uid: `7c1d1e52-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resourceVersion: String(100 + i),
      creationTimestamp: created,
      labels: { app: 'app', 'pod-template-hash': hash, 'mtls-injector.io/managed': 'true' },
      annotations: {
        'mtls-injector.io/secret': `${name}-mtls`,
        'mtls-injector.io/status': 'injected',
        'kubectl.kubernetes.io/restartedAt': created,
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `app-${hash}`,
          uid: `5b0e3f11-0000-4000-8000-${String(i % 500).padStart(12, '0')}`,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: created,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
          },
        },
        {
          manager: 'kubelet',
          operation: 'Update',
          apiVersion: 'v1',
          time: created,
          fieldsType: 'FieldsV1',
          subresource: 'status',
          fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:podIP': {} } },
        },
      ],
    },
    spec: {
      serviceAccountName: 'app',
      nodeName: `node-${i % 1000}`,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      volumes: [
        { name: 'mtls-certs', secret: { secretName: `${name}-mtls`, defaultMode: 420 } },
        {
          name: 'kube-api-access-x1y2z',
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            ],
            defaultMode: 420,
          },
        },
      ],
      initContainers: [
        {
          name: 'mtls-init',
          image: 'ghcr.io/example/mtls-injector:0.1.0',
          command: ['/app/bin/mtls-init'],
          volumeMounts: [{ name: 'mtls-certs', mountPath: '/var/run/mtls', readOnly: true }],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
        },
      ],
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/team/app:1.4.2',
          ports: [{ containerPort: 8443, protocol: 'TCP' }],
          env: [
            { name: 'MTLS_DIR', value: '/var/run/mtls' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          volumeMounts: [
            { name: 'mtls-certs', mountPath: '/var/run/mtls', readOnly: true },
            { name: 'kube-api-access-x1y2z', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
          ],
          terminationMessagePath: '/dev/termination-log',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
    },
    status: {
      phase: 'Running',
      hostIP: `10.0.${(i >> 8) & 255}.${i & 255}`,
      podIP: `10.244.${(i >> 8) & 255}.${i & 255}`,
      startTime: created,
      qosClass: 'Burstable',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: created,
      })),
      containerStatuses: [
        {
          name: 'app',
          ready: true,
          restartCount: 0,
          image: 'registry.example.com/team/app:1.4.2',
          imageID: `registry.example.com/team/app@sha256:${'ab'.repeat(32)}`,
          containerID: `containerd://${hash.repeat(6).slice(0, 64)}`,
          started: true,
          state: { running: { startedAt: created } },
        },
      ],
    },
  };
}
