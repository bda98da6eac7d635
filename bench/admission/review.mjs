// The AdmissionReviews the admission benchmarks send (bench/admission.mjs).

/**
 * Where each request gets its own id: autocannon's `idReplacement` puts a fresh 33-character id in place of
 * every `[<id>]`; the other clients here use `withId`.
 */
export const ID_PLACEHOLDER = '[<id>]';
const ID_LENGTH = 33;
/**
 * The per-pod strings the API server writes before the webhooks (src/webhook/pod-slots.ts): the token volume's
 * 5 random characters and the managedFields time. Filled per request by `perPod` (both clients).
 */
export const TOKEN_PLACEHOLDER = '[<tok>]';
export const TIME_PLACEHOLDER = '[<time>]';
/** The alphabet Kubernetes' utilrand.String draws generated names from. */
const TOKEN_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const TIME_BASE = Date.parse('2026-12-06T08:00:00Z');

/**
 * The review as the bench sends it, by kind:
 *   rollout  the pods of one rollout, as a real API server sends them while a ReplicaSet creates its pods: the
 *            same pod template every time, with a new `request.uid`, a random token volume name
 *            (`kube-api-access-<5 random characters>`, in the volumes and every container's mounts) and its
 *            own managedFields time per request
 *   varying  also a per-request annotation value in the pod, so no two bodies are alike in any way the memo
 *            sets aside
 * `extraAnnotations` are added to the pod's (the bench's peer only: the annotations that make it inject).
 */
export function benchReviewText(kind, { extraAnnotations = {} } = {}) {
  const review = replicaSetPodReview();
  review.request.uid = ID_PLACEHOLDER;
  Object.assign(review.request.object.metadata.annotations, extraAnnotations);
  review.request.object.metadata.managedFields[0].time = TIME_PLACEHOLDER;
  if (kind === 'varying')
    review.request.object.metadata.annotations['bench.example/request'] = ID_PLACEHOLDER;
  else if (kind !== 'rollout') throw new Error(`unknown bench body ${kind}: rollout or varying`);
  return JSON.stringify(review).replaceAll(
    `kube-api-access-${TOKEN}`,
    `kube-api-access-${TOKEN_PLACEHOLDER}`,
  );
}

/** True when `text` has per-pod placeholders for `perPod` to fill. */
export function hasPerPod(text) {
  return text.includes(TOKEN_PLACEHOLDER) || text.includes(TIME_PLACEHOLDER);
}

/**
 * `text` with this request's per-pod strings: a random token volume name (the same in every place, as the
 * ServiceAccount plugin writes it) and a managedFields time `n` seconds after a fixed start, to the second.
 */
export function perPod(text, n) {
  let token = '';
  for (let i = 0; i < 5; i++) token += TOKEN_ALPHABET[Math.floor(Math.random() * TOKEN_ALPHABET.length)];
  const time = `${new Date(TIME_BASE + n * 1000).toISOString().slice(0, 19)}Z`;
  return text.replaceAll(TOKEN_PLACEHOLDER, token).replaceAll(TIME_PLACEHOLDER, time);
}

/**
 * `text` with every id placeholder replaced by request number `n`, as long as autocannon's ids, and its
 * per-pod strings filled (`perPod`).
 */
export function withId(text, n) {
  return perPod(text.replaceAll(ID_PLACEHOLDER, `bench-${String(n).padStart(ID_LENGTH - 6, '0')}`), n);
}

/** The token volume's random characters in `replicaSetPodReview` (the bench replaces them per request). */
const TOKEN = '7xk2p';

/**
 * A realistic 5.5 KB AdmissionReview: the CREATE of a Deployment's pod by the ReplicaSet controller, as the API
 * server sends it (two containers with probes, env, resources and security contexts; the projected
 * service-account token volume; the controller's managedFields entry; owner reference, anti-affinity and
 * default tolerations).
 */
export function replicaSetPodReview() {
  const container = (name, image, port) => ({
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    args: ['--listen', `:${port}`, '--log-format', 'json'],
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    env: [
      { name: 'GOMAXPROCS', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
      { name: 'LOG_LEVEL', value: 'info' },
    ],
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    readinessProbe: {
      httpGet: { path: '/readyz', port, scheme: 'HTTP' },
      periodSeconds: 5,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port, scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      {
        name: `kube-api-access-${TOKEN}`,
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        readOnly: true,
      },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  });
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '2b1c4f4e-6f0a-4c8e-9d57-8b1f2b7c9a10',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: '1f5b0c3a-6e1e-4d7a-9c1b-0e2d3f4a5b6c',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object: {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: {
          generateName: 'checkout-7d9f8b6c4-',
          namespace: 'shop',
          creationTimestamp: null,
          labels: {
            'app.kubernetes.io/name': 'checkout',
            'app.kubernetes.io/part-of': 'shop',
            'app.kubernetes.io/version': '2.14.1',
            'pod-template-hash': '7d9f8b6c4',
          },
          annotations: {
            'kubectl.kubernetes.io/restartedAt': '2026-01-10T09:00:00Z',
            'prometheus.io/scrape': 'true',
          },
          managedFields: [
            {
              manager: 'kube-controller-manager',
              operation: 'Update',
              apiVersion: 'v1',
              time: '2026-12-06T08:00:00Z',
              fieldsType: 'FieldsV1',
              fieldsV1: {
                'f:metadata': {
                  'f:generateName': {},
                  'f:labels': { '.': {}, 'f:app.kubernetes.io/name': {}, 'f:pod-template-hash': {} },
                  'f:ownerReferences': { '.': {}, 'k:{"uid":"4f0c2a3e-8c3c-4b65-9d7e-3b2f1d0a9c11"}': {} },
                },
                'f:spec': {
                  'f:containers': { 'k:{"name":"checkout"}': {}, 'k:{"name":"metrics-exporter"}': {} },
                  'f:serviceAccountName': {},
                },
              },
            },
          ],
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: 'checkout-7d9f8b6c4',
              uid: '4f0c2a3e-8c3c-4b65-9d7e-3b2f1d0a9c11',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          volumes: [
            { name: 'tmp', emptyDir: {} },
            {
              name: `kube-api-access-${TOKEN}`,
              projected: {
                sources: [
                  { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
                  { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                  {
                    downwardAPI: {
                      items: [
                        {
                          path: 'namespace',
                          fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                        },
                      ],
                    },
                  },
                ],
                defaultMode: 420,
              },
            },
          ],
          containers: [
            container('checkout', 'registry.example/shop/checkout:2.14.1', 8080),
            container('metrics-exporter', 'registry.example/shop/exporter:1.3.0', 9100),
          ],
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          serviceAccountName: 'checkout',
          serviceAccount: 'checkout',
          securityContext: { fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'checkout' } },
                    topologyKey: 'kubernetes.io/hostname',
                  },
                },
              ],
            },
          },
          schedulerName: 'default-scheduler',
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
          priority: 0,
          enableServiceLinks: true,
          preemptionPolicy: 'PreemptLowerPriority',
        },
        status: {},
      },
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}
