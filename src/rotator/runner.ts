import type { RotatorController } from './controller.js';

/**
 * Drives a controller in real time: drains the work queue whenever work arrives, and wakes at the next
 * renewal or retry. Returns a handle whose `kick()` is called by watch handlers after they queue work.
 */
export function runController(
  controller: RotatorController,
  clock: () => number,
  onError: (err: unknown) => void,
): { kick(): void; stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const schedule = (): void => {
    if (stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    const next = controller.nextWakeup();
    // Cap the sleep: timers over ~24.8 days overflow, and a periodic pass re-checks the webhook caBundle.
    const delay = next === undefined ? 60_000 : Math.max(0, Math.min(next - clock(), 60_000));
    timer = setTimeout(kick, delay);
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
      again = true;
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
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
