import { CA_FILE, CRL_FILE, VOLUME_NAME } from '../core/names.js';
import type { ObjectMeta, PodObject, SecretObject } from './types.js';

/*
 * What the rotator keeps of the pods and Secrets it watches. The API server sends whole objects (a pod's
 * containers, status and managedFields are several KB), and at 150,000 pods holding them is most of the
 * process's memory. Like controller-runtime's cache transforms, each watched object is projected once, on
 * arrival, to the fields the rotator reads; the rest is collected at once.
 */

/** The annotation `kubectl apply` writes: a copy of the whole object, never read by the rotator. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/*
 * The projections are built by assigning to one object literal in a fixed order, never by spreading
 * conditional parts (`{ ...(x === undefined ? {} : { x }) }`): V8 gives every object built by such spreads a
 * hidden class of its own (a map and a descriptor array, ~400 bytes), where assignments in a fixed order
 * share one class between all pods.
 */

/**
 * The metadata fields the rotator reads (identity, labels, annotations, owners, deletion), without
 * managedFields and the last-applied copy of the object.
 */
function projectMeta(meta: ObjectMeta): ObjectMeta {
  const out: Mutable<ObjectMeta> = {};
  if (meta.name !== undefined) out.name = meta.name;
  if (meta.namespace !== undefined) out.namespace = meta.namespace;
  if (meta.uid !== undefined) out.uid = meta.uid;
  if (meta.resourceVersion !== undefined) out.resourceVersion = meta.resourceVersion;
  if (meta.generateName !== undefined) out.generateName = meta.generateName;
  if (meta.labels !== undefined) out.labels = meta.labels;
  const annotations = meta.annotations;
  if (annotations !== undefined) {
    out.annotations =
      annotations[LAST_APPLIED] === undefined
        ? annotations
        : Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== LAST_APPLIED));
  }
  if (meta.ownerReferences !== undefined) out.ownerReferences = meta.ownerReferences;
  if (meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null)
    out.deletionTimestamp = meta.deletionTimestamp;
  if (meta.creationTimestamp !== undefined) out.creationTimestamp = meta.creationTimestamp;
  return out;
}

/**
 * A watched pod as the rotator keeps it: its metadata (see projectMeta), `spec.serviceAccountName`,
 * `spec.nodeName`, every volume named `mtls-certs` (all of them, so "exactly one such volume" is still decided
 * on what the pod has), and `status.phase`. Containers, the rest of the spec and the status are dropped.
 */
export function projectPod(pod: PodObject): PodObject {
  const spec = pod.spec ?? {};
  const kept: { serviceAccountName?: string; nodeName?: string; volumes?: unknown[] } = {};
  if (spec.serviceAccountName !== undefined) kept.serviceAccountName = spec.serviceAccountName;
  // The node confirms a PodCertificateRequest from the cache, without a read (src/rotator/signer/signer.ts).
  if (typeof spec['nodeName'] === 'string') kept.nodeName = spec['nodeName'];
  const volumes = spec['volumes'];
  if (Array.isArray(volumes)) {
    kept.volumes = (volumes as unknown[]).filter(
      (v) => typeof v === 'object' && v !== null && (v as { name?: unknown }).name === VOLUME_NAME,
    );
  }
  const status: { phase?: string } = {};
  if (pod.status?.phase !== undefined) status.phase = pod.status.phase;
  return { metadata: projectMeta(pod.metadata), spec: kept, status };
}

/**
 * The distinct trust bundles (ca.crt values) and CRLs (ca.crl values) seen lately. Every managed Secret carries the same one or two,
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
  const out: Mutable<SecretObject> = { metadata: projectMeta(secret.metadata) };
  if (secret.apiVersion !== undefined) out.apiVersion = secret.apiVersion;
  if (secret.kind !== undefined) out.kind = secret.kind;
  if (secret.type !== undefined) out.type = secret.type;
  const data = secret.data;
  if (data !== undefined) {
    // ca.crt and ca.crl are the same few values in every managed Secret (a CRL of many serials is tens of KB):
    // one kept instance of each.
    const bundle = data[CA_FILE];
    const crl = data[CRL_FILE];
    if (bundle === undefined && crl === undefined) out.data = data;
    else {
      const kept: Record<string, string> = { ...data };
      if (bundle !== undefined) kept[CA_FILE] = internBundle(bundle);
      if (crl !== undefined) kept[CRL_FILE] = internBundle(crl);
      out.data = kept;
    }
  }
  if (secret.immutable !== undefined) out.immutable = secret.immutable;
  projected.add(out);
  return out;
}
