/**
 * The golden injection cases of test/fixtures/inject/<case>/, for every door that runs them: decide() and
 * admit() in process (golden.test.ts), the webhook over HTTPS (test/webhook/golden-http.test.ts) and
 * `inject --render` (test/cli/golden-render.test.ts). See golden.test.ts for the layout of a case.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DecideInput } from '../../src/core/policy/decide.js';
import type { DeliverySettings, NamespaceDelivery } from '../../src/core/delivery.js';
import type { InjectionSettings } from '../../src/core/policy/settings.js';
import { EXCLUDED, FACTS_1_34, FACTS_1_37, SETTINGS, SUFFIX } from './helpers.js';

const FACTS = { 'v1.37': FACTS_1_37, 'v1.34': FACTS_1_34 } as const;

export const GOLDEN_ROOT = join(import.meta.dirname, '..', 'fixtures', 'inject');

/** What request.json may override. */
export interface RequestOverrides {
  readonly description?: string;
  readonly namespace?: string;
  readonly mode?: DecideInput['mode'];
  readonly operation?: DecideInput['operation'];
  readonly failOpen?: boolean;
  readonly secretSuffix?: string;
  readonly settings?: Partial<Omit<InjectionSettings, 'delivery'>>;
  /** The namespace's delivery label as the endpoint tells it (default unset). */
  readonly delivery?: NamespaceDelivery;
  /** Overrides of the delivery settings (mode, trustBundle, ...). */
  readonly deliverySettings?: Partial<Omit<DeliverySettings, 'facts'>>;
  /** What the rotator published: as on Kubernetes 1.37 or 1.34 (default: nothing published). */
  readonly facts?: 'v1.37' | 'v1.34';
}

/** The golden decision summary (decision.json). */
export interface GoldenDecision {
  readonly kind: 'inject' | 'skip' | 'deny';
  readonly reason: string;
  readonly message: string;
  readonly warnings: readonly string[];
  readonly failedOpen?: boolean;
}

/** One case folder, read. */
export interface GoldenCase {
  readonly name: string;
  readonly dir: string;
  readonly input: unknown;
  readonly request: RequestOverrides;
  /** decide()'s input for the case. */
  readonly decideInput: DecideInput;
  readonly decision: GoldenDecision | undefined;
  readonly patch: unknown[] | undefined;
  readonly pod: unknown;
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function readIfThere(path: string): unknown {
  return existsSync(path) ? readJson(path) : undefined;
}

/** decide()'s input for `pod` under a case's request overrides. */
export function decideInputFor(pod: unknown, req: RequestOverrides): DecideInput {
  return {
    pod,
    namespace: req.namespace ?? 'team-a',
    mode: req.mode ?? 'enabled',
    operation: req.operation ?? 'CREATE',
    excludedNamespaces: EXCLUDED,
    settings: {
      ...SETTINGS,
      failOpen: req.failOpen ?? false,
      ...req.settings,
      delivery: {
        ...SETTINGS.delivery,
        ...req.deliverySettings,
        facts: req.facts === undefined ? undefined : FACTS[req.facts],
      },
    },
    ...(req.delivery === undefined ? {} : { delivery: req.delivery }),
    secretSuffix: req.secretSuffix ?? SUFFIX,
  };
}

/** The names of the case folders, sorted. */
export function goldenCaseNames(): string[] {
  return readdirSync(GOLDEN_ROOT).sort();
}

/** Every case folder that has an input.json. */
export function goldenCases(): GoldenCase[] {
  return goldenCaseNames()
    .map((name) => ({ name, dir: join(GOLDEN_ROOT, name) }))
    .filter(({ dir }) => statSync(dir).isDirectory() && existsSync(join(dir, 'input.json')))
    .map(({ name, dir }) => {
      const input = readJson(join(dir, 'input.json'));
      const request = (readIfThere(join(dir, 'request.json')) ?? {}) as RequestOverrides;
      return {
        name,
        dir,
        input,
        request,
        decideInput: decideInputFor(input, request),
        decision: readIfThere(join(dir, 'decision.json')) as GoldenDecision | undefined,
        patch: readIfThere(join(dir, 'patch.json')) as unknown[] | undefined,
        pod: readIfThere(join(dir, 'pod.json')),
      };
    });
}
