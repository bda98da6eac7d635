/**
 * Every golden case through the webhook's own door: an AdmissionReview over real HTTPS to a started webhook
 * (the guarded JSON parser, admit(), the response encoder), configured as the case asks (failOpen, the
 * Windows init image, the endpoint for the mode). The answer must carry exactly the golden decision: the
 * patch of patch.json, the warnings, or the denial with its reason and message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import type { Config } from '../../src/config/schema.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeClusterFacts } from '../../src/core/delivery.js';
import { endpointPath } from '../../src/core/endpoints.js';
import { sanitizeWarning } from '../../src/core/review.js';
import { startWebhookServer, type RunningWebhook } from '../../src/webhook/server.js';
import { type GoldenCase, goldenCases } from '../core/goldens.js';
import { podReview, SUFFIX } from '../core/helpers.js';
import {
  captureLogger,
  decodePatch,
  makeServingCert,
  type ReviewAnswer,
  secretVolume,
  send,
  tempDir,
} from './helpers.js';

const cases = goldenCases();
let ca: string;
let volume: ReturnType<typeof secretVolume>;
/** One webhook per distinct configuration the cases ask for. */
const webhooks = new Map<string, RunningWebhook>();
let suffix = SUFFIX;

/** The webhook configuration a case's request.json asks for. */
function configKey(c: GoldenCase): string {
  return JSON.stringify({
    failOpen: c.decideInput.settings.failOpen,
    windowsImage: c.decideInput.settings.windowsInitImage,
    initEnabled: c.decideInput.settings.initEnabled,
    delivery: c.decideInput.settings.delivery,
  });
}

beforeAll(async () => {
  const pair = makeServingCert(tempDir(), 'golden');
  ca = pair.cert;
  volume = secretVolume(pair);
  const factsDir = tempDir();
  for (const c of cases) {
    const key = configKey(c);
    if (webhooks.has(key)) continue;
    const { settings } = c.decideInput;
    const { delivery } = settings;
    // The facts reach the webhook as the rotator publishes them: a file in the mounted ConfigMap.
    const factsFile = join(factsDir, `facts-${webhooks.size}.json`);
    if (delivery.facts !== undefined) writeFileSync(factsFile, encodeClusterFacts(delivery.facts));
    const loaded = loadConfig({
      flags: {
        'webhook.failOpen': settings.failOpen,
        'init.windowsImage': settings.windowsInitImage,
        'init.enabled': settings.initEnabled,
        trustDomain: settings.trustDomain,
        'init.image': settings.initImage,
        'delivery.mode': delivery.mode,
        'podCertificate.signerName': delivery.signerName,
        'podCertificate.keyType': delivery.keyType,
        'podCertificate.maxExpiration': `${delivery.maxExpirationSeconds}s`,
        'podCertificate.trustBundle': delivery.trustBundle,
        'podCertificate.trustBundleConfigMap': delivery.trustBundleConfigMap,
        'webhook.deliveryFactsFile': factsFile,
      },
    });
    const config: Config = {
      ...loaded,
      webhook: {
        ...loaded.webhook,
        port: 0,
        probePort: 0,
        host: '127.0.0.1',
        tlsCert: volume.certFile,
        tlsKey: volume.keyFile,
        // Closed at once: the drain delay is for pods the API server routes to (lifecycle.test.ts).
        shutdownDelay: 0,
      },
    };
    webhooks.set(
      key,
      await startWebhookServer(config, { logger: captureLogger().logger, randomSuffix: () => suffix }),
    );
  }
});

afterAll(async () => {
  for (const webhook of webhooks.values()) await webhook.close();
  volume.cleanup();
});

describe('golden cases over HTTPS', () => {
  it('covers every case', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  for (const golden of cases) {
    it(golden.name, async () => {
      const { decideInput, decision } = golden;
      if (decision === undefined) throw new Error(`${golden.name}: decision.json missing`);
      const webhook = webhooks.get(configKey(golden));
      if (webhook === undefined) throw new Error('no webhook for the case');
      suffix = decideInput.secretSuffix;
      const uid = `golden-http-${golden.name}`;
      const res = await send(webhook.port, {
        ca,
        path: endpointPath(decideInput.mode, decideInput.delivery ?? 'unset'),
        body: JSON.stringify(
          podReview(golden.input, {
            uid,
            namespace: decideInput.namespace,
            operation: decideInput.operation,
          }),
        ),
      });
      expect(res.status, res.text).toBe(200);
      const answer = res.json<ReviewAnswer>();
      const { response } = answer;
      expect(response.uid).toBe(uid);
      expect(response.warnings ?? []).toEqual(decision.warnings.map(sanitizeWarning));
      expect(decodePatch(answer)).toEqual(golden.patch);
      if (decision.kind === 'deny') {
        expect(response.allowed).toBe(false);
        expect(response.status).toEqual({
          code: 403,
          message: `mtls-injector denied the pod (${decision.reason}): ${decision.message}`,
        });
      } else {
        expect(response.allowed).toBe(true);
        expect(response.patchType).toBe((golden.patch ?? []).length > 0 ? 'JSONPatch' : undefined);
      }
    });
  }
});
