import type { TimerHandle, Timers } from './time.js';

/** A periodic task on injected timers. */
export interface Loop {
  /** Runs the first pass in `firstDelayMs`, then one every period after each pass ends. */
  start(firstDelayMs: number): void;
  /** Brings the next pass to `delayMs` from now, when the loop runs and no pass is in flight. */
  runSoon(delayMs: number): void;
  /** Cancels the next pass; a pass in flight finishes. */
  stop(): void;
  readonly running: boolean;
}

/**
 * `pass` every `everyMs`, measured from the end of the previous pass so passes never overlap. `pass` handles
 * its own failures (a rejected pass is treated as finished).
 */
export function createLoop(timers: Timers, everyMs: number, pass: () => Promise<void>): Loop {
  let timer: TimerHandle | undefined;
  let running = false;
  let inFlight = false;

  const schedule = (delayMs: number): void => {
    timers.clearTimeout(timer);
    timer = timers.setTimeout(fire, delayMs);
  };

  function fire(): void {
    timer = undefined;
    inFlight = true;
    pass()
      .catch(() => undefined)
      .finally(() => {
        inFlight = false;
        if (running) schedule(everyMs);
      });
  }

  return {
    start(firstDelayMs) {
      running = true;
      if (!inFlight) schedule(firstDelayMs);
    },
    runSoon(delayMs) {
      if (running && !inFlight) schedule(delayMs);
    },
    stop() {
      running = false;
      timers.clearTimeout(timer);
      timer = undefined;
    },
    get running() {
      return running;
    },
  };
}
