/**
 * A CEL implementation (@bufbuild/cel, a devDependency) for evaluating the chart's CEL (webhook
 * matchConditions, the ValidatingAdmissionPolicy) as behaviour, not as text; the real API server compiles and
 * runs the same expressions in the end-to-end suite. Undefined when the package is not installed.
 */

interface Cel {
  run(expression: string, bindings: Record<string, unknown>): unknown;
}

/** A variable specifier keeps typecheck working while the package is not installed. */
const CEL_PACKAGE = '@bufbuild/cel';

/** The CEL runtime, or undefined (the suites using it are then skipped, with one warning). */
export const cel: Cel | undefined = await import(CEL_PACKAGE).then(
  (m) => m as Cel,
  () => undefined,
);
if (cel === undefined) {
  console.warn(
    `test/chart: ${CEL_PACKAGE} is not installed (a devDependency); skipping the CEL evaluation tests.`,
  );
}

/** CEL sees JSON objects as maps: converts plain objects recursively. */
export function toCel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === 'object') {
    return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  return value;
}
