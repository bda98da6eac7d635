import { CA_FILE, VOLUME_NAME } from '../core/names.js';
import type { ObjectMeta, PodObject, SecretObject } from '../kube/types.js';

/*
 * What the rotator keeps of the pods and Secrets it watches. The API server sends whole objects (a pod's
 * containers, status and managedFields are several KB), and at 150,000 pods holding them is most of the
 * process's memory. Like controller-runtime's cache transforms, each watched object is projected once, on
 * arrival, to the fields the rotator reads; the rest is collected at once.
 */

/** The annotation `kubectl apply` writes: a copy of the whole object, never read by the rotator. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The metadata fields the rotator reads (identity, labels, annotations, owners, deletion), without
 * managedFields and the last-applied copy of the object.
 */
function projectMeta(meta: ObjectMeta): ObjectMeta {
  const annotations = meta.annotations;
  const kept =
    annotations?.[LAST_APPLIED] === undefined
      ? annotations
      : Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== LAST_APPLIED));
  return {
    ...(meta.name === undefined ? {} : { name: meta.name }),
    ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
    ...(meta.uid === undefined ? {} : { uid: meta.uid }),
    ...(meta.resourceVersion === undefined ? {} : { resourceVersion: meta.resourceVersion }),
    ...(meta.generateName === undefined ? {} : { generateName: meta.generateName }),
    ...(meta.labels === undefined ? {} : { labels: meta.labels }),
    ...(kept === undefined ? {} : { annotations: kept }),
    ...(meta.ownerReferences === undefined ? {} : { ownerReferences: meta.ownerReferences }),
    ...(meta.deletionTimestamp === undefined || meta.deletionTimestamp === null
      ? {}
      : { deletionTimestamp: meta.deletionTimestamp }),
    ...(meta.creationTimestamp === undefined ? {} : { creationTimestamp: meta.creationTimestamp }),
  };
}

/**
 * A watched pod as the rotator keeps it: its metadata (see projectMeta), `spec.serviceAccountName`, every
 * volume named `mtls-certs` (all of them, so "exactly one such volume" is still decided on what the pod
 * has), and `status.phase`. Containers, the rest of the spec and the status are dropped.
 */
export function projectPod(pod: PodObject): PodObject {
  const spec = pod.spec ?? {};
  const volumes = spec['volumes'];
  const ours = Array.isArray(volumes)
    ? (volumes as unknown[]).filter(
        (v) => typeof v === 'object' && v !== null && (v as { name?: unknown }).name === VOLUME_NAME,
      )
    : undefined;
  return {
    metadata: projectMeta(pod.metadata),
    spec: {
      ...(spec.serviceAccountName === undefined ? {} : { serviceAccountName: spec.serviceAccountName }),
      ...(ours === undefined ? {} : { volumes: ours }),
    },
    status: pod.status?.phase === undefined ? {} : { phase: pod.status.phase },
  };
}

/**
 * The distinct trust bundles (ca.crt values) seen lately. Every managed Secret carries the same one or two,
 * each decoded from JSON into its own string (~1 KB); keeping one instance of each saves that per Secret.
 */
const bundles = new Map<string, string>();
const BUNDLES_KEPT = 8;

/** The one kept instance of a ca.crt value (equal strings, one copy). */
export function internBundle(value: string): string {
  const kept = bundles.get(value);
  if (kept !== undefined) return kept;
  if (bundles.size >= BUNDLES_KEPT) bundles.delete(bundles.keys().next().value as string);
  bundles.set(value, value);
  return value;
}

/** Secrets projectSecret made, so projecting one again (the watch, then the controller) is free. */
const projected = new WeakSet<SecretObject>();

/**
 * A Secret as the rotator keeps it: everything it reads and writes back (type, data, immutable, metadata
 * without managedFields), with ca.crt shared between Secrets that hold the same bundle. A Secret this
 * function made is answered as it is.
 */
export function projectSecret(secret: SecretObject): SecretObject {
  if (projected.has(secret)) return secret;
  const bundle = secret.data?.[CA_FILE];
  const out: SecretObject = {
    ...(secret.apiVersion === undefined ? {} : { apiVersion: secret.apiVersion }),
    ...(secret.kind === undefined ? {} : { kind: secret.kind }),
    metadata: projectMeta(secret.metadata),
    ...(secret.type === undefined ? {} : { type: secret.type }),
    ...(secret.data === undefined
      ? {}
      : { data: bundle === undefined ? secret.data : { ...secret.data, [CA_FILE]: internBundle(bundle) } }),
    ...(secret.immutable === undefined ? {} : { immutable: secret.immutable }),
  };
  projected.add(out);
  return out;
}
