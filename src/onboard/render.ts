import { formatMs } from './rollout.js';
import type { OnboardReport, WorkloadReport } from './run.js';

const MARK: Record<WorkloadReport['outcome'], string> = {
  complete: '✔',
  progressing: '…',
  stalled: '‼',
  failed: '✖',
  dry_run: '→',
  skipped: '-',
};

/** One human line (plus details) for a workload, printed as soon as it finishes. */
export function renderWorkload(w: WorkloadReport): string {
  const id = `${w.kind}/${w.name}`;
  switch (w.outcome) {
    case 'skipped':
      return `${MARK.skipped} ${id}: skipped [${w.reason}${w.webhookReason === null ? '' : `/${w.webhookReason}`}] ${w.message}\n`;
    case 'dry_run':
      return `${MARK.dry_run} ${id}: would restart [${w.reason}] ${w.message}${w.podsWithoutIdentity.length > 0 ? ` (${w.podsWithoutIdentity.join(', ')})` : ''}\n`;
    case 'complete':
    case 'progressing':
    case 'stalled':
    case 'failed': {
      const took = w.outcome === 'complete' && w.elapsedMs !== null ? ` in ${formatMs(w.elapsedMs)}` : '';
      const pods = w.newPods === null ? '' : `; new pods: ${w.newPods}, injected: ${w.newPodsInjected ?? 0}`;
      const verb = w.restartedAt === null ? 'not restarted' : 'restarted';
      return `${MARK[w.outcome]} ${id}: ${verb}; ${w.outcomeMessage}${took}${pods}\n`;
    }
  }
}

/** The header printed before the first workload. */
export function renderHeader(namespace: string, dryRun: boolean): string {
  return `${dryRun ? 'dry run: ' : ''}onboarding namespace ${namespace} (one workload at a time)\n`;
}

/** The closing part of the human output: refusal, pods no restart can fix, and totals. */
export function renderFooter(report: OnboardReport): string {
  if (report.refused !== null) return `✖ refused: ${report.refused}\n`;
  let out = '';
  if (report.workloads.length === 0)
    out += `no Deployment, StatefulSet or DaemonSet in ${report.namespace}\n`;
  for (const pod of report.unmanagedPods) out += `! pod ${pod.name}: ${pod.message}\n`;
  const s = report.summary;
  out += report.dryRun
    ? `dry run: ${s.dry_run} workload(s) would be restarted, ${s.skipped} skipped; nothing was changed\n`
    : `done: ${s.complete} complete, ${s.progressing} progressing, ${s.stalled} stalled, ${s.failed} failed, ${s.skipped} skipped\n`;
  if (!report.dryRun && s.complete + s.progressing + s.stalled > 0) {
    out += `next: mtls-injector check -n ${report.namespace}\n`;
  }
  return out;
}

/** `-o json`: the whole report as one JSON document (schema in docs/onboarding.md). */
export function renderOnboardJson(report: OnboardReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
