import { ErrorCode, InjectorError } from '../../src/core/errors.js';
import { DEFAULT_CALL_TIMEOUT_MS } from '../../src/kube/client.js';
import type { FakeClock } from './clock.js';

/** One call that reached the API server: which method, and when (on the fake clock). */
export interface Delivered {
  readonly method: string;
  readonly at: number;
}

/**
 * A view of an in-memory API whose connection can go half-open: while stalled, calls neither reach the API
 * nor answer. A call fails at its deadline on the fake clock (`{ timeoutMs }`, or src/kube's default for a
 * call without one) and is dropped; a call still waiting reaches the API when the connection recovers
 * (`resume`), late. `delivered` lists every call that reached the API, so a test can tell whether
 * a replica wrote after it should have stopped.
 */
export class Stallable<T extends object> {
  readonly api: T;
  readonly delivered: Delivered[] = [];
  private stalled = false;
  private pending: { readonly method: string; readonly run: () => void; dropped: boolean }[] = [];

  constructor(
    target: T,
    private readonly clock: FakeClock,
  ) {
    this.api = new Proxy(target, {
      get: (obj, key) => {
        const value: unknown = Reflect.get(obj, key);
        if (typeof value !== 'function') return value;
        const method = String(key);
        return (...args: unknown[]) => this.call(method, () => value.apply(obj, args) as unknown, args);
      },
    });
  }

  /** The connection goes half-open. */
  stall(): void {
    this.stalled = true;
  }

  /** The connection recovers: calls still waiting (no deadline, or not reached yet) reach the API now. */
  resume(): void {
    this.stalled = false;
    const waiting = this.pending.filter((p) => !p.dropped);
    this.pending = [];
    for (const p of waiting) p.run();
  }

  private call(method: string, invoke: () => unknown, args: readonly unknown[]): unknown {
    if (!this.stalled) {
      this.delivered.push({ method, at: this.clock.now });
      return invoke();
    }
    const options = args.find(
      (a): a is { timeoutMs?: number } => typeof a === 'object' && a !== null && 'timeoutMs' in a,
    );
    return new Promise((resolve, reject) => {
      const entry = {
        method,
        dropped: false,
        run: () => {
          this.delivered.push({ method, at: this.clock.now });
          Promise.resolve(invoke()).then(resolve, reject);
        },
      };
      this.pending.push(entry);
      // src/kube gives a call without its own deadline DEFAULT_CALL_TIMEOUT_MS; so does this connection.
      const timeoutMs = options?.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
      {
        this.clock.setTimeout(() => {
          if (entry.dropped) return;
          entry.dropped = true;
          reject(new InjectorError(ErrorCode.KubeApi, `${method}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }
}
