/** A clock in epoch milliseconds, passed in so tests control time. */
export type Clock = () => number;

/** An opaque handle of a pending timer. */
export type TimerHandle = object;

/**
 * One-shot timers on the same time line as the Clock. Every loop of the rotator (CA re-read, drift report,
 * leader election, the controller's wake-up) waits through these, so a test drives them with a fake clock
 * instead of waiting.
 */
export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** The process's own clock and timers. */
export const systemClock: Clock = () => Date.now();

/** Node's timers. */
export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => {
    if (handle !== undefined) clearTimeout(handle as NodeJS.Timeout);
  },
};

/** A sleep on `timers`. */
export function sleepOn(timers: Timers): (ms: number) => Promise<void> {
  return (ms) => new Promise((resolve) => timers.setTimeout(resolve, ms));
}
