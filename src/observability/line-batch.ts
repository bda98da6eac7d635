/**
 * Log lines handed to their destination in batches. Writing each line on its own cost the webhook more than
 * deciding the review: a write to stdout (a pipe to the container runtime) per line, and on a VM each one
 * woke the reader on the other CPU. Lines are joined and written once per `maxDelayMs`, or as soon as
 * `maxBytes` are waiting, on `flush()`, and when the process exits.
 */

/** Where batched lines go: a stream or a pino destination. */
export interface LineSink {
  write(text: string): unknown;
}

/** How long a line may wait and how much may wait before it is written. */
export interface LineBatchOptions {
  readonly maxDelayMs: number;
  readonly maxBytes: number;
}

/** A line waits at most this long: not long enough for a human watching the log to notice. */
export const DEFAULT_LINE_BATCH: LineBatchOptions = { maxDelayMs: 50, maxBytes: 16 * 1024 };

/** Batches holding lines; flushed on exit. Each removes itself once written, so none is kept for long. */
const holding = new Set<LineBatch>();
let exitHookInstalled = false;

/** Writes the waiting lines of every batch; runs at process exit. */
export function flushWaitingLines(): void {
  for (const batch of holding) batch.flush();
}

/**
 * A pino destination that collects lines and writes them to `sink` in one `write` per batch. Lines keep
 * their order; nothing is dropped. On a crash that ends the process without an exit (SIGKILL, OOM kill),
 * at most the last `maxDelayMs` of lines are lost.
 */
export class LineBatch implements LineSink {
  private parts: string[] = [];
  private bytes = 0;
  // One timer for the life of the batch, re-armed with refresh() after it fired: no timer object per batch.
  // A flush for size leaves it armed; it then writes whatever came since, so no line waits longer.
  private timer: NodeJS.Timeout | undefined;
  private armed = false;

  constructor(
    private readonly sink: LineSink,
    private readonly options: LineBatchOptions = DEFAULT_LINE_BATCH,
  ) {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', flushWaitingLines);
    }
  }

  /** Takes one line (pino writes each with its newline). */
  write(line: string): boolean {
    if (this.parts.length === 0) holding.add(this);
    this.parts.push(line);
    this.bytes += line.length;
    if (this.bytes >= this.options.maxBytes) this.flush();
    else if (!this.armed) this.arm();
    return true;
  }

  /** Writes every waiting line now, then calls `done` (pino's `logger.flush(cb)` calls this). */
  flush(done?: (err?: Error) => void): void {
    if (this.parts.length > 0) {
      const text = this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join('');
      this.parts = [];
      this.bytes = 0;
      holding.delete(this);
      this.sink.write(text);
    }
    done?.();
  }

  private arm(): void {
    this.armed = true;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.armed = false;
        this.flush();
      }, this.options.maxDelayMs);
      this.timer.unref();
    } else {
      this.timer.refresh();
    }
  }
}
