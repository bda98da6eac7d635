import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** `result` label of mtls_injector_admissions_total. */
export type AdmissionResult = 'patched' | 'allowed' | 'denied' | 'error';

/** The webhook's Prometheus metrics, on their own Registry (no global registry, so tests and apps don't clash). */
export interface WebhookMetrics {
  readonly registry: Registry;
  /** Every answered review (and every refused request) by result, reason code and endpoint. */
  readonly admissions: Counter<'result' | 'reason' | 'endpoint'>;
  /**
   * Reviews the answer memo saw, by endpoint and result: `hit` (answered from a template, no parse or
   * decision), `template` (answered the long way; the body had been seen before and its answer became a
   * template), `miss` (answered the long way otherwise).
   */
  readonly admissionMemo: Counter<'endpoint' | 'result'>;
  /** Time from the body being received to the answer being built. */
  readonly admissionDuration: Histogram<'endpoint'>;
  readonly certificateReloads: Counter<'result'>;
  /** notAfter of the serving certificate in use, as Unix seconds. */
  readonly certificateNotAfter: Gauge;
}

/**
 * Registers the webhook metrics on `registry` (a new one when omitted). Buckets are sized for a pure
 * computation whose budget is 2 ms at p99.
 */
export function createWebhookMetrics(
  options: { readonly registry?: Registry; readonly processMetrics?: boolean } = {},
): WebhookMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  if (options.processMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'mtls_injector_webhook_' });
  return {
    registry,
    admissions: new Counter({
      name: 'mtls_injector_admissions_total',
      help: 'Admission requests answered, by result (patched, allowed, denied, error), reason code and endpoint.',
      labelNames: ['result', 'reason', 'endpoint'],
      registers,
    }),
    admissionMemo: new Counter({
      name: 'mtls_injector_admission_memo_total',
      help: 'Admission reviews the answer memo saw, by endpoint and result (hit, template, miss).',
      labelNames: ['endpoint', 'result'],
      registers,
    }),
    admissionDuration: new Histogram({
      name: 'mtls_injector_admission_duration_seconds',
      help: 'Time to decide and answer one AdmissionReview, from body received to response built.',
      labelNames: ['endpoint'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    certificateReloads: new Counter({
      name: 'mtls_injector_serving_certificate_reloads_total',
      help: 'Serving certificate (re)loads from the mounted files, by result (success, failure).',
      labelNames: ['result'],
      registers,
    }),
    certificateNotAfter: new Gauge({
      name: 'mtls_injector_serving_certificate_not_after_seconds',
      help: 'notAfter of the serving certificate in use, as Unix time.',
      registers,
    }),
  };
}
