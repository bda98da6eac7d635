/**
 * Where a new pod's first Secret spends its time inside the rotator, stage by stage (epoch ms from the
 * rotator's clock). Filled along the new-pod path (controller → pod sync → writer) and logged with
 * `certificate issued`, so a slow pod start can be split into the rotator's parts without a profiler
 * (docs/using-mtls.md, "Start-up time and the init container").
 */
export interface FirstIssueTrace {
  /** The pod's first watch event without a Secret: it was queued in the first lane then. */
  readonly seen: number;
  /** A worker took the item. */
  started?: number;
  /** The key and certificate were made and the Secret built. */
  issued?: number;
  /** The write token was granted and the create request handed to the client. */
  sent?: number;
}

/** The stage durations of `trace`, answered at `answered`; undefined for a stage not reached. */
export interface FirstIssueTimings {
  readonly queuedMs: number | undefined;
  readonly issueMs: number | undefined;
  readonly throttleMs: number | undefined;
  readonly createMs: number | undefined;
  readonly totalMs: number;
}

/** The durations between the stages of `trace`, the create answered at `answered`. */
export function firstIssueTimings(trace: FirstIssueTrace, answered: number): FirstIssueTimings {
  const between = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined ? undefined : b - a;
  return {
    queuedMs: between(trace.seen, trace.started),
    issueMs: between(trace.started, trace.issued),
    throttleMs: between(trace.issued, trace.sent),
    createMs: between(trace.sent, answered),
    totalMs: answered - trace.seen,
  };
}
