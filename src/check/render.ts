import type { PodReport } from './pod.js';
import { type CheckResult, humanDuration } from './result.js';
import type { CheckReport } from './run.js';

const MARK = { ok: '✔', warning: '‼', error: '✖' } as const;

function mark(result: CheckResult): string {
  if (result.ok) return MARK.ok;
  return result.severity === 'error' ? MARK.error : MARK.warning;
}

function line(result: CheckResult, indent: string): string {
  const head = `${indent}${mark(result)} ${result.name}: ${result.message} [${result.reason}]\n`;
  return result.ok || result.hint === null ? head : `${head}${indent}    hint: ${result.hint}\n`;
}

/**
 * Human output, one ✔/‼/✖ line per check (‼ is a warning), a hint under each failure. Pods whose checks all
 * pass take one line each; `detailed` (check --pod) prints every check and the certificate facts.
 */
export function renderCheck(report: CheckReport, detailed: boolean): string {
  let out = 'cluster\n';
  for (const r of report.cluster) out += line(r, '  ');
  const ns = report.namespace;
  if (ns !== null) {
    out += `\nnamespace ${ns.name}${ns.mode === null ? '' : ` (mtls-injection=${ns.mode})`}\n`;
    for (const r of ns.checks) out += line(r, '  ');
    for (const pod of ns.pods) out += renderPod(pod, detailed);
  }
  const { passed, warnings, errors } = report.summary;
  const verdict = errors > 0 ? 'problems found' : warnings > 0 ? 'warnings' : 'all checks passed';
  out += `\nstatus: ${verdict} (${passed} passed, ${warnings} warning${warnings === 1 ? '' : 's'}, ${errors} error${errors === 1 ? '' : 's'})\n`;
  return out;
}

function renderPod(pod: PodReport, detailed: boolean): string {
  const failing = pod.checks.filter((c) => !c.ok);
  const owner = pod.owner === null ? '' : ` (${pod.owner.kind}/${pod.owner.name})`;
  const injection = pod.checks.find((c) => c.name === 'injection');
  const state = pod.injected
    ? pod.delivery?.mode === 'podCertificate'
      ? 'injected (podCertificate)'
      : 'injected'
    : 'not injected';
  const expiry =
    pod.certificate !== null && pod.certificate.expiresInSeconds > 0
      ? `, ${pod.certificate.spiffeId ?? 'no SPIFFE ID'}, expires in ${humanDuration(pod.certificate.expiresInSeconds * 1000)}`
      : '';
  const headMark = failing.some((c) => c.severity === 'error')
    ? MARK.error
    : failing.length > 0
      ? MARK.warning
      : MARK.ok;
  let out = `  ${headMark} pod ${pod.name}${owner}: ${state} [${injection?.reason ?? '-'}]${expiry}\n`;
  if (!detailed) {
    for (const c of failing) out += line(c, '      ');
    return out;
  }
  out += `      service account: ${pod.serviceAccount ?? '(none)'}; phase: ${pod.phase ?? '?'}\n`;
  const w = pod.webhook;
  out += w.selected
    ? `      webhook: entry ${w.entry ?? '?'}, would ${w.decision ?? '?'} now [${w.reason ?? '-'}]${w.message === null ? '' : `: ${w.message}`}\n`
    : `      webhook: not called for this pod${w.reason === null ? '' : ` [${w.reason}]`}\n`;
  if (pod.delivery !== null) out += `      delivery: ${pod.delivery.mode} (${pod.delivery.why})\n`;
  if (pod.secretName !== null) out += `      secret: ${pod.secretName}\n`;
  const pc = pod.podCertificate;
  if (pc !== null && pc.request !== null) {
    out += `      pod certificate: request ${pc.request} ${pc.state ?? '?'}${pc.reason === null ? '' : ` (${pc.reason})`}${pc.message === null ? '' : `: ${pc.message}`}\n`;
    if (pc.notAfter !== null)
      out += `        valid ${pc.notBefore ?? '?'} .. ${pc.notAfter}, the kubelet refreshes from ${pc.beginRefreshAt ?? '?'}\n`;
    out += `        requests of this pod still visible: ${pc.requests}\n`;
  }
  if (pod.expectedSpiffeId !== null) out += `      expected identity: ${pod.expectedSpiffeId}\n`;
  const cert = pod.certificate;
  if (cert !== null) {
    out += `      certificate: ${cert.spiffeId ?? '(no SPIFFE ID)'}, serial ${cert.serial}\n`;
    out += `        valid ${cert.notBefore} .. ${cert.notAfter}\n`;
    if (cert.dnsNames.length > 0) out += `        DNS names ${cert.dnsNames.join(', ')}\n`;
    if (cert.revoked !== null) {
      out += `        REVOKED (${cert.revoked.reason}) at ${cert.revoked.revokedAt}${cert.revoked.by === null ? '' : ` by ${cert.revoked.by}`}\n`;
    }
    if (cert.crl !== null) {
      out += `        ca.crl: CRL number ${cert.crl.crlNumber ?? 'none'}, ${cert.crl.entries} revoked, next update ${cert.crl.nextUpdate ?? 'none'}\n`;
    }
  }
  for (const c of pod.checks) out += line(c, '      ');
  return out;
}

/** `-o json`: the report as one JSON document (schema in docs/check.md). */
export function renderCheckJson(report: CheckReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
