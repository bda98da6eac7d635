import { type Document, parseAllDocuments } from 'yaml';
import { ErrorCode, InjectorError } from '../errors.js';
import { INJECT_ANNOTATION, OPT_IN_ENABLED, OPT_IN_LABEL } from '../names.js';
import { decide } from '../policy/decide.js';
import type { InjectionSettings } from '../policy/settings.js';
import { applyPatchToYaml } from './yaml-patch.js';

/** Where the pod (template) sits in each kind `inject` understands. */
const POD_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/**
 * Marker put into the generateName of previewed templates and generateName pods. Its letters are outside
 * Kubernetes' name alphabet, so a Secret name rendered with it never matches a real pod's generated name and
 * the webhook gives every real pod its own Secret even if the preview is applied.
 */
const PREVIEW_MARKER = 'preview-';

export interface ManifestOptions {
  /** false: add the opt-in label to each pod (template); true: apply the full patch the webhook would. */
  readonly render: boolean;
  /** Namespace of objects that name none (`-n`, default "default"). */
  readonly namespace: string;
  readonly settings: InjectionSettings;
  readonly excludedNamespaces: readonly string[];
  /** Draws a generateName suffix (the caller's randomness; used with --render only). */
  readonly secretSuffix: () => string;
}

export interface ManifestResult {
  /** The documents, YAML, everything not injected kept (comments included). */
  readonly output: string;
  /** One line per object for stderr: what was done, or why not. */
  readonly notes: readonly string[];
  /** Objects the webhook would deny (--render only). */
  readonly denied: number;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(obj: Json): string {
  const meta = isObject(obj['metadata']) ? obj['metadata'] : {};
  const name =
    typeof meta['name'] === 'string'
      ? meta['name']
      : typeof meta['generateName'] === 'string'
        ? `${meta['generateName']}*`
        : '(unnamed)';
  return `${typeof obj['kind'] === 'string' ? obj['kind'] : '(no kind)'}/${name}`;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/**
 * `mtls-injector inject`: reads multi-document YAML (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
 * CronJob and List of them) and, like `linkerd inject`, adds the opt-in label `mtls-injection: enabled` to
 * each pod (template) — or with `render` applies the whole patch the webhook would, for preview and review.
 * Other kinds pass through unchanged with a note. Throws InjectorError (MTLS_ERR_USAGE) on invalid YAML.
 */
export function injectManifests(text: string, options: ManifestOptions): ManifestResult {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) {
    throw new InjectorError(ErrorCode.UsageInvalid, 'input is not a YAML stream');
  }
  for (const [index, doc] of docs.entries()) {
    const error = doc.errors[0];
    if (error !== undefined) {
      throw new InjectorError(
        ErrorCode.UsageInvalid,
        `document ${index + 1} is not valid YAML: ${error.message.split('\n')[0] ?? ''}`,
      );
    }
  }
  const notes: string[] = [];
  let denied = 0;

  const handle = (doc: Document, path: readonly (string | number)[], obj: unknown): void => {
    if (!isObject(obj)) return;
    const kind = obj['kind'];
    if (kind === 'List' && Array.isArray(obj['items'])) {
      obj['items'].forEach((item, i) => handle(doc, [...path, 'items', i], item));
      return;
    }
    const podPath = typeof kind === 'string' ? POD_PATHS[kind] : undefined;
    if (podPath === undefined) {
      notes.push(`${describe(obj)}: not a pod or workload; passed through unchanged`);
      return;
    }
    const template = valueAt(obj, podPath);
    if (!isObject(template)) {
      notes.push(`${describe(obj)}: no pod template at ${podPath.join('.')}; passed through unchanged`);
      return;
    }
    const where = [...path, ...podPath];
    const annotations = valueAt(template, ['metadata', 'annotations']);
    const optedOut = isObject(annotations) && annotations[INJECT_ANNOTATION] === 'false';

    if (!options.render) {
      doc.setIn([...where, 'metadata', 'labels', OPT_IN_LABEL], OPT_IN_ENABLED);
      notes.push(
        `${describe(obj)}: label ${OPT_IN_LABEL}=${OPT_IN_ENABLED} added${optedOut ? ` (but ${INJECT_ANNOTATION}: "false" opts it out)` : ''}`,
      );
      return;
    }

    const meta = isObject(obj['metadata']) ? obj['metadata'] : {};
    const namespace =
      typeof meta['namespace'] === 'string' && meta['namespace'] !== ''
        ? meta['namespace']
        : options.namespace;
    const pod = previewPod(obj, template, kind === 'Pod');
    const decision = decide({
      pod,
      namespace,
      mode: 'enabled',
      operation: 'CREATE',
      excludedNamespaces: options.excludedNamespaces,
      settings: { ...options.settings, failOpen: false },
      secretSuffix: options.secretSuffix(),
    });
    switch (decision.kind) {
      case 'inject':
        applyPatchToYaml(doc, where, decision.patch);
        notes.push(
          `${describe(obj)}: rendered with Secret ${decision.secretName} (${decision.identity.spiffeId})`,
        );
        break;
      case 'skip':
        if (decision.patch.length > 0) applyPatchToYaml(doc, where, decision.patch);
        notes.push(`${describe(obj)}: not injected (${decision.reason}): ${decision.message}`);
        break;
      case 'deny':
        denied++;
        notes.push(`${describe(obj)}: the webhook would DENY it (${decision.reason}): ${decision.message}`);
        break;
    }
    for (const warning of decision.warnings) notes.push(`${describe(obj)}: warning: ${warning}`);
  };

  for (const doc of docs) handle(doc, [], doc.toJS());

  const indentSeq = !/^( *)[^\s#-][^\n]*:\n\1- /m.test(text);
  const output = docs
    .map((doc, i) => {
      const rendered = doc.toString({ indentSeq });
      return i === 0 || rendered.startsWith('---') ? rendered : `---\n${rendered}`;
    })
    .join('');
  return { output, notes, denied };
}

/**
 * The pod the webhook would see for an object: a Pod as is; for a template, a pod with the template's
 * metadata and spec. What the API server fills in before webhooks run is filled in too (the ServiceAccount
 * plugin's `default`). Pods without a fixed name get the preview marker in their generateName.
 */
function previewPod(obj: Json, template: Json, isPod: boolean): Json {
  const source = isPod ? obj : template;
  const meta = isObject(source['metadata']) ? { ...source['metadata'] } : {};
  const spec = isObject(source['spec']) ? { ...source['spec'] } : {};
  if (typeof spec['serviceAccountName'] !== 'string' || spec['serviceAccountName'] === '') {
    spec['serviceAccountName'] = 'default';
  }
  const ownerName =
    isObject(obj['metadata']) && typeof obj['metadata']['name'] === 'string'
      ? obj['metadata']['name']
      : 'pod';
  if (typeof meta['name'] !== 'string' || meta['name'] === '') {
    delete meta['name'];
    const base =
      typeof meta['generateName'] === 'string' && meta['generateName'] !== ''
        ? meta['generateName']
        : `${ownerName}-`;
    meta['generateName'] = `${base}${PREVIEW_MARKER}`;
  }
  return { ...source, apiVersion: 'v1', kind: 'Pod', metadata: meta, spec };
}
