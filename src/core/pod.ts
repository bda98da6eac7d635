import { z } from 'zod';
import { compileIssues } from './schema-check.js';
import { INIT_CONTAINER_NAME, VOLUME_NAME } from './names.js';

/**
 * The parts of a raw pod (as JSON from the API server) that injection reads or writes. Everything else is
 * kept untouched: the schemas are loose (unknown keys allowed) and are only used to CHECK the shape; the
 * mutation works on a clone of the raw JSON, never on a parsed model.
 */

/** A JSON object as parsed from the wire. */
export type JsonObject = { [key: string]: unknown };

// Plain z.object, not looseObject: unknown keys are accepted either way, and skipping them is faster.
// `nullish`: a hand-written request may send `null` for an empty list or map; Go's omitempty never does.
const stringMap = z.record(z.string(), z.string()).nullish();

const envVarShape = z.object({ name: z.string() });
const volumeMountShape = z.object({
  name: z.string(),
  mountPath: z.string(),
  subPath: z.string().nullish(),
  subPathExpr: z.string().nullish(),
  readOnly: z.boolean().nullish(),
});
const containerShape = z.object({
  name: z.string().min(1),
  command: z.array(z.string()).nullish(),
  args: z.array(z.string()).nullish(),
  env: z.array(envVarShape).nullish(),
  volumeMounts: z.array(volumeMountShape).nullish(),
});
const volumeShape = z.object({
  name: z.string().min(1),
  secret: z.object({}).nullish(),
  projected: z.object({}).nullish(),
});

/**
 * The shape injection needs. Unknown keys are allowed (zod's default object mode strips them from its OUTPUT,
 * which is never used: the raw pod is what gets mutated), so every other field passes unchecked and untouched.
 */
export const podShape = z.object({
  metadata: z
    .object({
      name: z.string().nullish(),
      generateName: z.string().nullish(),
      namespace: z.string().nullish(),
      labels: stringMap,
      annotations: stringMap,
    })
    .nullish(),
  spec: z.object({
    serviceAccountName: z.string().nullish(),
    containers: z.array(containerShape).min(1),
    initContainers: z.array(containerShape).nullish(),
    ephemeralContainers: z.array(z.unknown()).nullish(),
    volumes: z.array(volumeShape).nullish(),
    securityContext: z.object({ fsGroup: z.number().int().nullish() }).nullish(),
    os: z.object({ name: z.string().nullish() }).nullish(),
  }),
});

/** What is wrong with a pod's shape, or undefined; compiled, zod only for the refused (schema-check.ts). */
const podShapeIssues = compileIssues(podShape);

/** A raw pod whose shape `podShape` has checked. Index signatures keep every unknown field. */
export interface RawPod extends JsonObject {
  metadata?: RawMetadata | null;
  spec: RawPodSpec;
}
export interface RawMetadata extends JsonObject {
  name?: string | null;
  generateName?: string | null;
  namespace?: string | null;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
}
export interface RawPodSpec extends JsonObject {
  serviceAccountName?: string | null;
  containers: RawContainer[];
  initContainers?: RawContainer[] | null;
  ephemeralContainers?: unknown[] | null;
  volumes?: RawVolume[] | null;
  securityContext?: (JsonObject & { fsGroup?: number | null }) | null;
  os?: (JsonObject & { name?: string | null }) | null;
}
export interface RawContainer extends JsonObject {
  name: string;
  command?: string[] | null;
  args?: string[] | null;
  env?: RawEnvVar[] | null;
  volumeMounts?: RawVolumeMount[] | null;
}
export interface RawEnvVar extends JsonObject {
  name: string;
}
export interface RawVolumeMount extends JsonObject {
  name: string;
  mountPath: string;
  subPath?: string | null;
  subPathExpr?: string | null;
  readOnly?: boolean | null;
}
export interface RawVolume extends JsonObject {
  name: string;
  secret?: JsonObject | null;
  projected?: JsonObject | null;
}

/** Checks the raw pod's shape; returns it typed, or a message naming the first problems. */
export function checkPodShape(
  pod: unknown,
): { readonly ok: true; readonly pod: RawPod } | { readonly ok: false; readonly message: string } {
  if (pod === null || typeof pod !== 'object' || Array.isArray(pod)) {
    return { ok: false, message: `expected a pod object, got ${pod === null ? 'null' : typeof pod}` };
  }
  const issues = podShapeIssues(pod);
  if (issues === undefined) return { ok: true, pod: pod as RawPod };
  const problems = issues.slice(0, 3).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return { ok: false, message: problems.join('; ') + more };
}

/** `['spec', 'containers', 0, 'name']` → `spec.containers[0].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** The pod's name, or its generateName, for logs and messages ("" when neither). */
export function podDisplayName(pod: unknown): string {
  if (pod === null || typeof pod !== 'object') return '';
  const meta = (pod as { metadata?: unknown }).metadata;
  if (meta === null || typeof meta !== 'object') return '';
  const { name, generateName } = meta as { name?: unknown; generateName?: unknown };
  if (typeof name === 'string' && name !== '') return name;
  if (typeof generateName === 'string' && generateName !== '') return generateName;
  return '';
}

/** The secretName of the pod's `mtls-certs` Secret volume, when it has exactly one. */
export function mountedSecretOf(spec: RawPodSpec): unknown {
  const volumes = (spec.volumes ?? []).filter((v) => v.name === VOLUME_NAME);
  return volumes.length === 1 ? volumes[0]?.secret?.['secretName'] : undefined;
}

/**
 * Whether the pod carries the injected volume and the `mtls-init` init container; without the init container
 * when its status (parsed `mtls-injector.io/status`) says injection added none (init.enabled=false).
 */
export function hasInjectedStructure(
  pod: RawPod,
  status?: { readonly initContainer?: string | undefined },
): boolean {
  const withInit = status === undefined || status.initContainer !== undefined;
  return (
    (pod.spec.volumes ?? []).some((v) => v.name === VOLUME_NAME) &&
    (!withInit || (pod.spec.initContainers ?? []).some((c) => c.name === INIT_CONTAINER_NAME))
  );
}
