/** What the CA-rotation tests share: a leading CA manager over the rotator harness, and the CLI's output. */
import { PassThrough } from 'node:stream';
import { CaManager } from '../../src/rotator/ca-manager.js';
import { staticLeadership } from '../fakes/leadership.js';
import type { Harness } from './harness.js';

/** A CA manager over the harness's API, leading, counting the harness's workload Secrets. */
export function caManagerOf(h: Harness): CaManager {
  return new CaManager({
    config: h.config,
    secrets: h.secrets,
    clock: h.clock.read,
    leadership: staticLeadership(true),
    workloadSecrets: () => h.controller.stats().workloadSecrets,
  });
}

/**
 * A CA manager over `h` and `reload()`, which loads what a rotation step wrote into the CA Secret (as the
 * rotator's watch would) and lets the controller act on it.
 */
export function rotating(h: Harness): {
  readonly caManager: CaManager;
  readonly reload: () => Promise<void>;
} {
  const caManager = caManagerOf(h);
  return {
    caManager,
    reload: async () => {
      if (await caManager.refresh()) h.setCa(caManager.current() ?? h.ca);
      await h.settle();
    },
  };
}

/** Streams for the CLI's `runStep`, and what it wrote to each. */
export function output() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: '', err: '' };
  stdout.on('data', (c: Buffer) => (text.out += c.toString()));
  stderr.on('data', (c: Buffer) => (text.err += c.toString()));
  return { ctx: { stdout, stderr }, text };
}
