import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { parseGuardedJson } from '../core/json-guard.js';
import type { NamespaceDelivery } from '../core/delivery.js';
import { WEBHOOK_ENDPOINTS } from '../core/endpoints.js';
import { MUTATE_PATH, MUTATE_STRICT_PATH } from '../core/names.js';
import type { Mode } from '../core/policy/decide.js';
import type { InjectionSettings } from '../core/policy/settings.js';
import type { ErrorReason } from '../core/reasons.js';
import { parseAdmissionReview } from '../core/review.js';
import type { AdmissionResult, WebhookMetrics } from '../observability/metrics.js';
import { parseGoDuration } from './deadline.js';
import { DEFAULT_LIMITS, httpsServerFactory, type ServerLimits } from './https-server.js';
import { reviewLogFields, reviewOutcome, type ReviewOutcome } from './outcome.js';
import { DEFAULT_REVIEW_MEMO, type Recall, ReviewMemo, type ReviewMemoOptions } from './review-memo.js';
import { randomSecretSuffix } from './suffix.js';

export type { ServerLimits } from './https-server.js';

/** What the webhook app is built from. */
export interface WebhookAppOptions {
  readonly settings: InjectionSettings;
  /** When given, read per review instead of `settings` (the delivery facts are hot-reloaded into it). */
  readonly currentSettings?: () => InjectionSettings;
  readonly excludedNamespaces: readonly string[];
  readonly bodyLimitBytes: number;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  /** Draws the generateName Secret suffix; random by default (tests pass a fixed one). */
  readonly randomSuffix?: () => string;
  readonly limits?: Partial<ServerLimits>;
  /**
   * Answers to bodies that come again with only their uid changed (a rollout's pods) are rendered from the
   * first answer (review-memo.ts); `false` decides every review from scratch.
   */
  readonly memo?: ReviewMemoOptions | false;
  /**
   * Serve HTTPS, starting with this pair when given (swap it later with `server.setSecureContext`). Without
   * it the app is plain HTTP, which only tests using `app.inject()` want.
   */
  readonly https?: { readonly cert?: string; readonly key?: string };
}

/** A refused request: a plain HTTP status, never an AdmissionReview answer. */
class RequestRefused extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: ErrorReason,
    message: string,
  ) {
    super(message);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** performance.now() when the body had been received. */
    bodyReceivedAt: number;
    /** performance.now() when the request's headers arrived. */
    arrivedAt: number;
    /** performance.now() after which the API server has given up on this request. */
    deadlineAt: number;
    /** The body's text, kept for the memo when it was answered the long way. */
    bodyText: string | null;
    /** What the endpoint's memo said about the body. */
    recalled: Recall | null;
  }
}

const ENDPOINTS = new Set(WEBHOOK_ENDPOINTS.map((e) => e.path));
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The admission webhook as a fastify app, built but not listening. `POST /mutate` serves namespaces labelled
 * `mtls-injection=enabled` (and opted-in pods), `POST /mutate/strict` serves `mtls-injection=strict`; the
 * path is the only thing that tells the mode (the webhook reads no namespace and makes no API call).
 * Bodies are parsed by a guarded JSON parser (size, depth and prototype keys checked before anything else).
 */
export function buildWebhookApp(options: WebhookAppOptions): FastifyInstance {
  const { logger, metrics } = options;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const randomSuffix = options.randomSuffix ?? randomSecretSuffix;
  const tlsOptions = options.https;

  const serverFactory = httpsServerFactory(limits, tlsOptions);

  const app = fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes,
    // Keep answering requests already on open connections while closing: a 503 would hit the failurePolicy.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ...(tlsOptions === undefined ? {} : { serverFactory }),
  });

  app.decorateRequest('bodyReceivedAt', 0);
  app.decorateRequest('deadlineAt', 0);
  app.decorateRequest('arrivedAt', 0);
  app.decorateRequest('bodyText', null);
  app.decorateRequest('recalled', null);
  const memos = new Map<string, ReviewMemo>();
  if (options.memo !== false)
    for (const endpoint of WEBHOOK_ENDPOINTS)
      memos.set(endpoint.path, new ReviewMemo(options.memo ?? DEFAULT_REVIEW_MEMO));
  const currentSettings = options.currentSettings ?? (() => options.settings);

  const count = (result: AdmissionResult, reason: string, endpoint: string): void => {
    metrics.admissions.inc({ result, reason, endpoint });
  };

  // A18: the API server gives up at ?timeout=; past it nothing we send is read, so stop working on it. One
  // sweep over the requests in flight, not a timer per request: a per-request timer's closure held the
  // request, and a timer promoted to the old generation kept every request it ever held alive through the
  // young-generation collections (each scavenge copied megabytes, and the pauses set the p99).
  const inFlight = new Map<FastifyRequest, FastifyReply>();
  const sweep = (): void => {
    const now = performance.now();
    for (const [request, reply] of inFlight) {
      if (reply.sent || request.raw.destroyed) {
        inFlight.delete(request);
      } else if (now > request.deadlineAt) {
        inFlight.delete(request);
        const endpoint = request.routeOptions.url ?? '';
        if (ENDPOINTS.has(endpoint)) count('error', 'deadline_exceeded', endpoint);
        logger.warn(
          { endpoint, timeoutMs: Math.round(request.deadlineAt - request.arrivedAt) },
          'request deadline passed before the body arrived; dropped',
        );
        request.raw.destroy();
      }
    }
  };
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('onReady', (done) => {
    sweeper = setInterval(sweep, limits.deadlineSweepMs);
    sweeper.unref();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clearInterval(sweeper);
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    const asked = parseGoDuration((request.query as Record<string, unknown> | undefined)?.['timeout']);
    const budget =
      asked !== undefined && asked > 0 ? Math.min(asked, limits.requestTimeoutMs) : limits.requestTimeoutMs;
    request.arrivedAt = performance.now();
    request.deadlineAt = request.arrivedAt + budget;
    inFlight.set(request, reply);
    done();
  });
  // Every answer below removes its request from `inFlight` once sent (no onResponse hook on the hot path);
  // requests that never get an answer (the client went away) are removed by the sweep.

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.bodyReceivedAt = performance.now();
    const text = body as string;
    const memo = memos.get(request.routeOptions.url ?? '');
    if (memo !== undefined) {
      const recalled = memo.recall(text, currentSettings());
      request.recalled = recalled;
      if (recalled.kind === 'hit') {
        done(null, null);
        return;
      }
      request.bodyText = text;
    }
    const parsed = parseGuardedJson(text);
    if (parsed.ok) done(null, parsed.value);
    else done(new RequestRefused(400, 'invalid_review', parsed.message), undefined);
  });

  const handle =
    (mode: Mode, delivery: NamespaceDelivery, endpoint: string) =>
    (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
      const started = request.bodyReceivedAt === 0 ? performance.now() : request.bodyReceivedAt;
      if (started > request.deadlineAt) {
        throw new RequestRefused(
          504,
          'deadline_exceeded',
          "the API server's deadline passed before the review",
        );
      }
      const recalled = request.recalled;
      let outcome: ReviewOutcome;
      let remember: (() => boolean) | undefined;
      if (recalled?.kind === 'hit') {
        outcome = recalled.template.render(recalled.uid, randomSuffix(), recalled.token);
      } else {
        const parsed = parseAdmissionReview(request.body);
        if (!parsed.ok) throw new RequestRefused(400, 'invalid_review', parsed.message);
        const { review } = parsed;
        const settings = currentSettings();
        const admitOptions = {
          mode,
          delivery,
          settings,
          excludedNamespaces: options.excludedNamespaces,
          secretSuffix: randomSuffix(),
        };
        outcome = reviewOutcome(review, admitOptions);
        const memo = memos.get(endpoint);
        const text = request.bodyText;
        if (memo !== undefined && text !== null)
          remember = () =>
            memo.observe(text, recalled ?? undefined, review, settings, (r, secretSuffix) =>
              reviewOutcome(r, { ...admitOptions, secretSuffix }, true),
            );
      }
      const seconds = (performance.now() - started) / 1000;
      // Answer first: fastify hands the text to the socket before send() returns, so the API server has it
      // while the metrics, the log line and the memo below are written. Sent as text already encoded: fastify
      // passes a string with a JSON content type through untouched.
      void reply.type(JSON_CONTENT_TYPE).send(outcome.body);
      inFlight.delete(request);
      metrics.admissionDuration.observe({ endpoint }, seconds);
      count(outcome.result, outcome.reason, endpoint);
      logger[outcome.warn ? 'warn' : 'info'](reviewLogFields(outcome, endpoint, seconds), 'admission review');
      if (recalled?.kind === 'hit') metrics.admissionMemo.inc({ endpoint, result: 'hit' });
      else if (remember !== undefined)
        metrics.admissionMemo.inc({ endpoint, result: remember() ? 'template' : 'miss' });
      return reply;
    };

  for (const endpoint of WEBHOOK_ENDPOINTS)
    app.post(endpoint.path, handle(endpoint.mode, endpoint.delivery, endpoint.path));

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      error: 'Not Found',
      message: `POST ${MUTATE_PATH} or ${MUTATE_STRICT_PATH}, optionally followed by /secret, /pod-certificate or /invalid-delivery`,
    });
    inFlight.delete(request);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode ?? 500;
    const reason: ErrorReason =
      err instanceof RequestRefused
        ? err.reason
        : status === 413
          ? 'body_too_large'
          : status === 415
            ? 'unsupported_media_type'
            : status >= 400 && status < 500
              ? 'invalid_review'
              : 'internal_error';
    const endpoint = request.routeOptions.url ?? '';
    if (ENDPOINTS.has(endpoint)) count('error', reason, endpoint);
    const message = reason === 'internal_error' ? 'internal error; see the webhook log' : err.message;
    const fields = { endpoint, status, reason, message: err.message, code: err.code };
    if (reason === 'internal_error')
      logger.error({ ...fields, stack: err.stack }, 'admission request failed');
    else logger.warn(fields, 'admission request refused');
    // Oversized bodies are not read; close the connection instead of draining megabytes (A4).
    if (status === 413) void reply.header('connection', 'close');
    void reply.code(reason === 'internal_error' ? 500 : status).send({ error: reason, message });
    inFlight.delete(request);
  });

  return app;
}
