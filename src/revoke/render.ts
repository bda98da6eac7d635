import { REVOCATIONS_CONFIGMAP } from '../core/names.js';
import type { RevocationEntry } from '../model/revocations.js';
import type { RevokeOutcome } from './run.js';

/** `revoke` for people: what was (or would be) revoked, what was revoked before, and where it is recorded. */
export function renderRevoke(outcome: RevokeOutcome, installNamespace: string): string {
  const lines: string[] = [];
  const record = `ConfigMap ${installNamespace}/${REVOCATIONS_CONFIGMAP}`;
  if (outcome.revoked.length > 0) {
    const verb = outcome.dryRun ? 'would revoke' : 'revoked';
    lines.push(
      `${verb} ${outcome.revoked.length} certificate(s), reason ${outcome.revoked[0]?.reason ?? ''}:`,
    );
    lines.push(...outcome.revoked.map(describe));
  }
  if (outcome.revokedPods.length > 0) {
    const verb = outcome.dryRun ? 'would revoke' : 'revoked';
    lines.push(
      `${verb} the pod certificates of ${outcome.revokedPods.length} pod(s), reason ${outcome.revokedPods[0]?.reason ?? ''}:`,
    );
    for (const p of outcome.revokedPods) {
      lines.push(
        `  pod ${p.pod} (UID ${p.uid}): the rotator evicts it (PodDisruptionBudgets honoured; its controller's ` +
          `replacement gets a new key) and denies it new certificates until ${p.until}; ` +
          'the rotator adds the serials it issued to this pod to the CRL, beside any listed above',
      );
    }
  }
  if (outcome.already.length > 0) {
    lines.push(`already revoked (left as recorded):`);
    lines.push(...outcome.already.map((e) => `${describe(e)}  (${e.reason} at ${e.revokedAt} by ${e.by})`));
  }
  if (outcome.dryRun) lines.push(`dry run: nothing written to ${record}`);
  else if (outcome.revoked.length + outcome.revokedPods.length > 0)
    lines.push(`recorded in ${record} by ${outcome.by}`);
  else lines.push(`nothing new to record in ${record}`);
  if (outcome.pruned > 0 && !outcome.dryRun)
    lines.push(`dropped ${outcome.pruned} expired entr${outcome.pruned === 1 ? 'y' : 'ies'}`);
  lines.push(...outcome.warnings.map((w) => `warning: ${w}`));
  return `${lines.join('\n')}\n`;
}

/** `revoke -o json`: the outcome as one JSON document. */
export function renderRevokeJson(outcome: RevokeOutcome): string {
  return `${JSON.stringify(outcome, null, 2)}\n`;
}

function describe(e: RevocationEntry): string {
  const who = [e.identity, e.pod === null ? undefined : `pod ${e.pod}`].filter(
    (x) => x !== null && x !== undefined,
  );
  return `  serial ${e.serial}  ${who.length > 0 ? who.join('  ') : '(not held by any managed Secret)'}  valid until ${e.notAfter}`;
}
