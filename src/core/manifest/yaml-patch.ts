import { type Document, isSeq, type Node } from 'yaml';
import type { PatchOperation } from '../mutate/patch.js';

/** `/metadata/labels/mtls-injector.io~1managed` → `['metadata', 'labels', 'mtls-injector.io/managed']`. */
function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Applies JSONPatch add/replace/remove operations to a node of a YAML document in place, so comments and the
 * layout of everything the patch does not touch survive (unlike a JSON round trip). `base` is the path of
 * the node the patch was computed against (e.g. a Deployment's `spec.template`).
 */
export function applyPatchToYaml(
  doc: Document,
  base: readonly (string | number)[],
  patch: readonly PatchOperation[],
): void {
  for (const op of patch) {
    const parts = pointerToPath(op.path);
    const last = parts.pop();
    if (last === undefined) throw new RangeError('a patch of the whole object is not supported');
    // yaml's getIn/setIn read numeric strings as list indexes, so pointer parts can be used as they are.
    const parentPath = [...base, ...parts];
    const parent = doc.getIn(parentPath, true) as Node | undefined;
    const key: string | number = isSeq(parent) ? (last === '-' ? Infinity : Number(last)) : last;
    switch (op.op) {
      case 'add':
        if (isSeq(parent)) {
          const index = Math.min(key as number, parent.items.length);
          parent.items.splice(index, 0, doc.createNode(op.value));
        } else {
          doc.setIn([...parentPath, key], doc.createNode(op.value));
        }
        break;
      case 'replace':
        doc.setIn([...parentPath, key], doc.createNode(op.value));
        break;
      case 'remove':
        doc.deleteIn([...parentPath, key]);
        break;
      case 'move':
      case 'copy':
      case 'test':
        throw new RangeError(`JSONPatch op ${op.op} is not produced by the injector`);
    }
  }
}
