/**
 * A readers-writer lock on the cluster's shared state, across the e2e files that vitest runs side by side
 * (test/e2e/vitest.config.ts runs them in several worker processes). Most files work in namespaces of their
 * own and may overlap: they hold the lock shared, for the whole file (`sharesCluster()`). A test that changes
 * what every file depends on (the run's CA rotation: its two parts in pod-certificates.e2e.test.ts, or, on a
 * release without Pod Certificates, the one in live-traffic.e2e.test.ts) holds it exclusively
 * (`exclusively()`): it starts once no other file holds it, and a file that would start meanwhile waits until
 * it is done. Suites that change the install itself run in another vitest run, alone
 * (test/e2e/disruptive/).
 *
 * The lock is a directory under .e2e/locks (cleared by test/e2e/global-setup.ts at the start of each run):
 * a holder publishes itself first and then looks for the other kind, so of two racing holders at least one
 * sees the other and backs off (a reader withdraws; the writer waits for readers to leave).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { e2eDir } from './product.js';

/** Where the lock lives; test/e2e/global-setup.ts removes it before a run. */
export const LOCK_DIR = join(e2eDir, 'locks');
const SHARED_DIR = join(LOCK_DIR, 'shared');
const EXCLUSIVE = join(LOCK_DIR, 'exclusive');

/** How long a file waits for the lock: longer than the CA rotation holds it on a loaded machine. */
export const LOCK_WAIT_MS = 20 * 60_000;
const POLL_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Takes the lock shared for `holder`; resolves with its release once no exclusive holder is there. */
export async function holdClusterShared(holder: string): Promise<() => void> {
  mkdirSync(SHARED_DIR, { recursive: true });
  const mine = join(SHARED_DIR, `${holder.replace(/[^\w.-]/g, '_')}-${process.pid}`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    writeFileSync(mine, new Date().toISOString());
    if (!existsSync(EXCLUSIVE)) return () => rmSync(mine, { force: true });
    rmSync(mine, { force: true });
    if (!told) console.log(`${holder}: waiting for the exclusive holder of the cluster (${EXCLUSIVE})`);
    told = true;
    if (Date.now() > deadline) throw new Error(`${holder}: the cluster was held exclusively for too long`);
    await sleep(POLL_MS);
  }
}

/** Takes the lock exclusively for `holder`; resolves with its release once no file holds it shared. */
export async function holdClusterExclusive(holder: string): Promise<() => void> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(EXCLUSIVE);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() > deadline) throw new Error(`${holder}: another exclusive holder kept the cluster`);
      await sleep(POLL_MS);
    }
  }
  const release = (): void => rmSync(EXCLUSIVE, { recursive: true, force: true });
  const readers = (): string[] => (existsSync(SHARED_DIR) ? readdirSync(SHARED_DIR) : []);
  let last = '';
  while (readers().length > 0) {
    const now = readers().join(', ');
    if (now !== last) console.log(`${holder}: waiting for files sharing the cluster to finish: ${now}`);
    last = now;
    if (Date.now() > deadline) {
      release();
      throw new Error(`${holder}: files kept sharing the cluster: ${now}`);
    }
    await sleep(POLL_MS);
  }
  return release;
}

/** A file's hold on the cluster lock (`sharesCluster()`). */
export interface ClusterHold {
  /**
   * Runs `change` with the lock held exclusively: gives up this file's shared hold, waits until no other file
   * holds the lock, and keeps every other file from starting until `change` is done. For a test that changes
   * the cluster's shared state (a CA rotation). `after`: the name of a mutex (`usesAlone()`) to take first and
   * hold throughout, so that `change` runs only while no file uses that piece of state.
   */
  exclusively<T>(what: string, change: () => Promise<T>, options?: { readonly after?: string }): Promise<T>;
}

/**
 * Declares that this file works in namespaces of its own and must not run during a change to the cluster's
 * shared state: holds the lock shared from before its first test to after its last hook.
 */
export function sharesCluster(file: string): ClusterHold {
  let release: (() => void) | undefined;
  beforeAll(async () => {
    release = await holdClusterShared(file);
  }, LOCK_WAIT_MS + 60_000);
  afterAll(() => {
    release?.();
    release = undefined;
  });
  return {
    async exclusively(what, change, options) {
      release?.();
      release = undefined;
      // A mutex (usesAlone) first, holding nothing else meanwhile: its holder may itself want the cluster
      // exclusively before it lets go.
      const alone =
        options?.after === undefined ? undefined : await holdAlone(`${file} (${what})`, options.after);
      try {
        const done = await holdClusterExclusive(`${file} (${what})`);
        try {
          return await change();
        } finally {
          done();
        }
      } finally {
        alone?.();
      }
    },
  };
}

/** A mutex named `what` under .e2e/locks: resolves with its release once `holder` has it. */
export async function holdAlone(holder: string, what: string): Promise<() => void> {
  const dir = join(LOCK_DIR, `alone-${what.replace(/[^\w.-]/g, '_')}`);
  mkdirSync(LOCK_DIR, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'holder'), `${holder} ${process.pid}`);
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!told) console.log(`${holder}: waiting for the other user of the ${what} (${dir})`);
      told = true;
      if (Date.now() > deadline) throw new Error(`${holder}: the ${what} was held for too long`);
      await sleep(POLL_MS);
    }
  }
}

/**
 * Declares that this file uses a piece of the cluster's shared state that only one file may use at a time
 * (the revocation record, which both revocation files count entries of; the pod-certificate pods, which a
 * CA rotation must wait for): a mutex named `what`, held from before the file's first test to after its last
 * hook. Call it before `sharesCluster()`, so that a file waiting for the mutex holds nothing else. Other
 * files are not held up.
 */
export function usesAlone(file: string, what: string): void {
  let release: (() => void) | undefined;
  beforeAll(async () => {
    release = await holdAlone(file, what);
  }, LOCK_WAIT_MS + 60_000);
  afterAll(() => {
    release?.();
    release = undefined;
  });
}
