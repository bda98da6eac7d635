/**
 * Where the per-pod strings of a review body (pod-slots.ts) stand once it is parsed: checked once per
 * remembered body, when its answer template is made (review-memo.ts), so that a slot is known to be a token
 * volume's name or a managedFields time and nothing else.
 */
import { TOKEN_NAME } from './pod-slots.js';

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** A volume's or a volume mount's name in the pod: where the token volume's name may stand. */
function isVolumeName(path: readonly (string | number)[]): boolean {
  if (path[0] !== 'request' || path[1] !== 'object' || path[2] !== 'spec') return false;
  if (path.length === 6) return path[3] === 'volumes' && typeof path[4] === 'number' && path[5] === 'name';
  return (
    path.length === 8 &&
    CONTAINER_LISTS.has(path[3] as string) &&
    typeof path[4] === 'number' &&
    path[5] === 'volumeMounts' &&
    typeof path[6] === 'number' &&
    path[7] === 'name'
  );
}

/** `metadata.managedFields[i].time` of the pod. */
function isManagedFieldsTime(path: readonly (string | number)[]): boolean {
  return (
    path.length === 6 &&
    path[0] === 'request' &&
    path[1] === 'object' &&
    path[2] === 'metadata' &&
    path[3] === 'managedFields' &&
    typeof path[4] === 'number' &&
    path[5] === 'time'
  );
}

/**
 * True when, in `review` (parsed from a body whose token slots hold `tokenName` and whose time slots hold the
 * strings in `times`), those strings stand exactly in their places and nowhere else: `tokenName` as the name
 * of a volume or volume mount `tokenSlots` times, a time of `times` as a managedFields time `timeSlots` times,
 * no key equal to either, and no other string shaped like a token volume's name (so that no string outside the
 * slots can ever equal the token name, whatever its characters).
 */
export function slotsInPlace(
  review: unknown,
  tokenName: string,
  tokenSlots: number,
  times: ReadonlySet<string>,
  timeSlots: number,
): boolean {
  let tokensSeen = 0;
  let timesSeen = 0;
  const path: (string | number)[] = [];
  const visit = (value: unknown): boolean => {
    if (typeof value === 'string') {
      if (TOKEN_NAME.test(value)) {
        if (value !== tokenName || !isVolumeName(path)) return false;
        tokensSeen++;
      } else if (times.has(value)) {
        if (!isManagedFieldsTime(path)) return false;
        timesSeen++;
      }
      return true;
    }
    if (value === null || typeof value !== 'object') return true;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        const ok = visit(value[i]);
        path.pop();
        if (!ok) return false;
      }
      return true;
    }
    for (const [key, child] of Object.entries(value)) {
      if (TOKEN_NAME.test(key) || times.has(key)) return false;
      path.push(key);
      const ok = visit(child);
      path.pop();
      if (!ok) return false;
    }
    return true;
  };
  return visit(review) && tokensSeen === tokenSlots && timesSeen === timeSlots;
}
