import type { RotatorController } from './controller.js';
import type { Clock, TimerHandle, Timers } from './time.js';

/** The longest the runner sleeps: timers over ~24.8 days overflow, and a periodic pass re-checks the caBundle. */
const MAX_SLEEP_MS = 60_000;

/**
 * Drives a controller on `timers`: drains the work queue whenever work arrives, and wakes at the next renewal
 * or retry. `kick()` is called by watch handlers after they queue work and on leadership changes; during a
 * pass it adds workers for the new work at once (the controller's drain is re-entrant).
 */
export function runController(
  controller: Pick<RotatorController, 'tick' | 'drain' | 'nextWakeup'>,
  clock: Clock,
  timers: Timers,
  onError: (err: unknown) => void,
): { kick(): void; stop(): Promise<void> } {
  let timer: TimerHandle | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const schedule = (): void => {
    if (stopped) return;
    timers.clearTimeout(timer);
    const next = controller.nextWakeup();
    const delay = next === undefined ? MAX_SLEEP_MS : Math.max(0, Math.min(next - clock(), MAX_SLEEP_MS));
    timer = timers.setTimeout(kick, delay);
  };

  const pass = async (): Promise<void> => {
    do {
      again = false;
      controller.tick();
      await controller.drain();
    } while (again && !stopped);
  };

  function kick(): void {
    if (stopped) return;
    if (running !== undefined) {
      // Work that arrived during the pass starts now on an idle worker, not when the pass's busy ones
      // finish; the pass then runs once more for retries and renewals that came due meanwhile.
      again = true;
      void controller.drain();
      return;
    }
    running = pass()
      .catch(onError)
      .finally(() => {
        running = undefined;
        schedule();
      });
  }

  schedule();
  return {
    kick,
    async stop() {
      stopped = true;
      timers.clearTimeout(timer);
      await running;
    },
  };
}
