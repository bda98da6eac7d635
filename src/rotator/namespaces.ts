import type { NamespaceObject } from '../kube/types.js';
import { gainedOptIn } from '../model/selection.js';

type Labels = Readonly<Record<string, string>>;

/**
 * The labels of every namespace as the Namespace watch shows them: whether pods there may have an identity is
 * judged from them on every sync. Tells `changed` when a namespace's labels change (its pods are judged
 * again) and `optedIn` when one gains the opt-in label (drift report, automatic onboarding); excluded
 * namespaces never count as opting in.
 */
export class NamespaceLabels {
  private readonly labels = new Map<string, Labels>();

  constructor(
    private readonly deps: {
      readonly excluded: readonly string[];
      readonly changed: (name: string) => void;
      readonly optedIn: (name: string) => void;
    },
  ) {}

  /** The labels of `name`, undefined when the watch has not shown it. */
  get(name: string): Labels | undefined {
    return this.labels.get(name);
  }

  /** Every namespace with its labels. */
  all(): { name: string; labels: Labels }[] {
    return [...this.labels].map(([name, labels]) => ({ name, labels }));
  }

  /** A Namespace was added or changed on the watch. */
  upsert(ns: NamespaceObject): void {
    const name = ns.metadata.name;
    if (name === undefined) return;
    const before = this.labels.get(name);
    const after = ns.metadata.labels ?? {};
    this.labels.set(name, after);
    if (before !== undefined && !sameLabels(before, after)) this.deps.changed(name);
    if (before !== undefined && gainedOptIn(before, after) && !this.deps.excluded.includes(name))
      this.deps.optedIn(name);
  }

  /** A Namespace was deleted. */
  remove(ns: NamespaceObject): void {
    this.labels.delete(ns.metadata.name ?? '');
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
