/**
 * The review memo (src/webhook/review-memo.ts) answers a body that comes again with another uid from a
 * template. Its answers must be the real path's, byte for byte: every golden case goes through both, with
 * several uids and Secret-name suffixes, in process and through the app (fastify inject), and the memo's
 * bounds and refusals are checked.
 */
import { describe, expect, it } from 'vitest';
import type { AdmitOptions } from '../../src/core/admit.js';
import { endpointPath } from '../../src/core/endpoints.js';
import type { AdmissionReview } from '../../src/core/review.js';
import { createWebhookMetrics } from '../../src/observability/metrics.js';
import { buildWebhookApp } from '../../src/webhook/app.js';
import { reviewOutcome } from '../../src/webhook/outcome.js';
import { ReviewMemo } from '../../src/webhook/review-memo.js';
import { type GoldenCase, goldenCases } from '../core/goldens.js';
import { EXCLUDED, podReview, SETTINGS, simplePod } from '../core/helpers.js';
import { captureLogger } from './helpers.js';
import { PER_POD, type PerPod, withPerPod } from './per-pod.js';

const cases = goldenCases();
const UIDS = ['0b8e7c2a-1f0d-4c55-9a4e-6d3f2b1a0c9e', 'uid-2', 'a/b+c=d', 'x'.repeat(256)];
const SUFFIXES = ['x7k2pmq4wz', 'bcdfghjklm', '2456789bcd', 'zzzzzzzzzz'];

function reviewOf(golden: GoldenCase, uid: string, perPod?: PerPod): AdmissionReview {
  const { decideInput } = golden;
  return podReview(withPerPod(golden.input, perPod), {
    uid,
    namespace: decideInput.namespace,
    operation: decideInput.operation,
  });
}

function optionsOf(golden: GoldenCase, secretSuffix: string): AdmitOptions {
  const { decideInput } = golden;
  return {
    mode: decideInput.mode,
    delivery: decideInput.delivery ?? 'unset',
    settings: decideInput.settings,
    excludedNamespaces: decideInput.excludedNamespaces,
    secretSuffix,
  };
}

describe('review memo against the real path', () => {
  it('covers every golden case', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  for (const golden of cases) {
    it(`${golden.name}: rendered answers equal decided ones, byte for byte`, () => {
      const memo = new ReviewMemo();
      const { settings } = golden.decideInput;
      const outcomeFor = (r: AdmissionReview, suffix: string) =>
        reviewOutcome(r, optionsOf(golden, suffix), true);
      const text = (uid: string) => JSON.stringify(reviewOf(golden, uid));
      // Seen once: remembered, not answered. Seen twice: templated.
      for (const uid of ['first', 'second']) {
        const recalled = memo.recall(text(uid), settings);
        expect(recalled.kind).toBe('miss');
        expect(memo.observe(text(uid), recalled, reviewOf(golden, uid), settings, outcomeFor)).toBe(
          uid === 'second',
        );
      }
      for (const uid of UIDS) {
        const recall = memo.recall(text(uid), settings);
        if (recall.kind !== 'hit') throw new Error(`${golden.name}: no template`);
        expect(recall.uid).toBe(uid);
        for (const suffix of SUFFIXES) {
          expect(recall.template.render(uid, suffix, recall.token)).toEqual(
            outcomeFor(reviewOf(golden, uid), suffix),
          );
          expect(recall.template.render(uid, suffix, recall.token).body).toBe(
            reviewOutcome(reviewOf(golden, uid), optionsOf(golden, suffix)).body,
          );
        }
      }
    });

    it(`${golden.name}, with a token volume and managedFields per pod: rendered answers equal decided ones`, () => {
      const memo = new ReviewMemo();
      const { settings } = golden.decideInput;
      const outcomeFor = (r: AdmissionReview, suffix: string) =>
        reviewOutcome(r, optionsOf(golden, suffix), true);
      const text = (uid: string, perPod: PerPod) => JSON.stringify(reviewOf(golden, uid, perPod));
      // Two pods of one template, each with its own token name and time: the second makes the template.
      for (const [uid, perPod] of [
        ['first', PER_POD[0] as PerPod],
        ['second', PER_POD[1] as PerPod],
      ] as const) {
        const recalled = memo.recall(text(uid, perPod), settings);
        expect(recalled.kind).toBe('miss');
        expect(
          memo.observe(text(uid, perPod), recalled, reviewOf(golden, uid, perPod), settings, outcomeFor),
        ).toBe(uid === 'second');
      }
      let hits = 0;
      for (const uid of UIDS)
        for (const perPod of PER_POD) {
          const review = reviewOf(golden, uid, perPod);
          const recall = memo.recall(text(uid, perPod), settings);
          if (recall.kind !== 'hit') throw new Error(`${golden.name}: no template`);
          hits++;
          expect(recall.uid).toBe(uid);
          for (const suffix of SUFFIXES) {
            expect(recall.template.render(uid, suffix, recall.token)).toEqual(outcomeFor(review, suffix));
            expect(recall.template.render(uid, suffix, recall.token).body).toBe(
              reviewOutcome(review, optionsOf(golden, suffix)).body,
            );
          }
        }
      expect(hits).toBe(UIDS.length * PER_POD.length);
    });
  }
});

describe('review memo through the app', () => {
  it('answers and logs every golden case as the app without a memo does', async () => {
    const run = async (memo: boolean) => {
      const answers: string[] = [];
      const logs = captureLogger();
      let hits = 0;
      for (const golden of cases) {
        let n = 0;
        const metrics = createWebhookMetrics({ processMetrics: false });
        const app = buildWebhookApp({
          settings: golden.decideInput.settings,
          excludedNamespaces: EXCLUDED,
          bodyLimitBytes: 6 * 1024 * 1024,
          logger: logs.logger,
          metrics,
          randomSuffix: () => SUFFIXES[n++ % SUFFIXES.length] as string,
          ...(memo ? {} : { memo: false as const }),
        });
        const url = endpointPath(golden.decideInput.mode, golden.decideInput.delivery ?? 'unset');
        // As written, then with a token volume and managedFields time that change from pod to pod.
        const bodies = [
          ...[...UIDS, ...UIDS].map((uid) => reviewOf(golden, uid)),
          ...[...UIDS, ...UIDS].map((uid, i) => reviewOf(golden, uid, PER_POD[i % PER_POD.length])),
        ];
        for (const review of bodies) {
          const res = await app.inject({
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify(review),
          });
          answers.push(`${res.statusCode} ${res.headers['content-type']} ${res.body}`);
        }
        await app.close();
        hits += (await metrics.admissionMemo.get()).values
          .filter((v) => v.labels.result === 'hit')
          .reduce((sum, v) => sum + v.value, 0);
      }
      const lines = logs.lines().map(({ time: _t, durationMs: _d, ...rest }) => rest);
      return { answers, lines, hits };
    };
    const withMemo = await run(true);
    const without = await run(false);
    expect(withMemo.answers).toEqual(without.answers);
    expect(withMemo.lines).toEqual(without.lines);
    expect(withMemo.lines.length).toBe(cases.length * UIDS.length * 4);
    // Reviews were answered, not refused (the content type matters: without it every answer is a 415).
    expect(withMemo.answers.filter((a) => a.startsWith('200 ')).length).toBe(withMemo.answers.length);
    // Per case: 8 bodies of each kind, the first two of each make the template, the other 6 are hits.
    expect(without.hits).toBe(0);
    expect(withMemo.hits).toBe(cases.length * 6 * 2);
  });
});

describe('review memo bounds and refusals', () => {
  const options = optionsOf(cases[0] as GoldenCase, 'x7k2pmq4wz');
  const outcomeFor = (r: AdmissionReview, suffix: string) =>
    reviewOutcome(r, { ...options, settings: SETTINGS, secretSuffix: suffix }, true);
  const seenTwice = (memo: ReviewMemo, review: (uid: string) => AdmissionReview) => {
    for (const uid of ['a', 'b'])
      memo.observe(JSON.stringify(review(uid)), undefined, review(uid), SETTINGS, outcomeFor);
  };
  const pod = (uid: string) => podReview(simplePod(), { uid });

  it('hits only the same body with another uid', () => {
    const memo = new ReviewMemo();
    seenTwice(memo, pod);
    expect(memo.recall(JSON.stringify(pod('c')), SETTINGS).kind).toBe('hit');
    expect(memo.recall(JSON.stringify(podReview(simplePod('other'), { uid: 'c' })), SETTINGS).kind).toBe(
      'miss',
    );
    expect(memo.recall(JSON.stringify(pod('c')).replace('"CREATE"', '"UPDATE"'), SETTINGS).kind).toBe('miss');
    expect(memo.recall(` ${JSON.stringify(pod('c'))}`, SETTINGS).kind).toBe('miss');
  });

  it('tells apart bodies that differ in one character, however many share a fingerprint', () => {
    const memo = new ReviewMemo();
    const sibling = (i: number, uid: string) => podReview(simplePod(`web-${i}`), { uid });
    for (let i = 0; i < 10; i++)
      for (const uid of ['a', 'b']) {
        const text = JSON.stringify(sibling(i, uid));
        memo.observe(text, memo.recall(text, SETTINGS), sibling(i, uid), SETTINGS, outcomeFor);
      }
    for (let i = 0; i < 10; i++) {
      const recall = memo.recall(JSON.stringify(sibling(i, 'c')), SETTINGS);
      if (recall.kind !== 'hit') continue;
      expect(recall.template.render('c', 'x7k2pmq4wz')).toEqual(outcomeFor(sibling(i, 'c'), 'x7k2pmq4wz'));
    }
    expect(memo.recall(JSON.stringify(sibling(9, 'c')), SETTINGS).kind).toBe('hit');
    expect(memo.recall(JSON.stringify(sibling(10, 'c')), SETTINGS).kind).toBe('miss');
  });

  it('misses uids that are not plain characters and forgets on new settings', () => {
    const memo = new ReviewMemo();
    seenTwice(memo, pod);
    expect(memo.recall(JSON.stringify(pod('c\\"d')), SETTINGS).kind).toBe('miss');
    expect(memo.recall(JSON.stringify(pod('c\n')), SETTINGS).kind).toBe('miss');
    expect(memo.recall(JSON.stringify(pod('')), SETTINGS).kind).toBe('miss');
    expect(memo.recall(JSON.stringify(pod('u'.repeat(257))), SETTINGS).kind).toBe('miss');
    const changed = { ...SETTINGS };
    expect(memo.recall(JSON.stringify(pod('c')), changed).kind).toBe('miss');
    memo.observe(JSON.stringify(pod('c')), undefined, pod('c'), changed, outcomeFor);
    expect(memo.size).toBe(1);
    expect(memo.recall(JSON.stringify(pod('d')), SETTINGS).kind).toBe('miss');
  });

  describe('per-pod strings (token volume name, managedFields time)', () => {
    const perPodPod = (perPod: PerPod, edit?: (pod: Record<string, unknown>) => void) => {
      const p = withPerPod(simplePod(), perPod) as Record<string, unknown>;
      edit?.(p);
      return p;
    };
    const seenTwiceAs = (memo: ReviewMemo, text: (uid: string, perPod: PerPod) => string) => {
      const results: boolean[] = [];
      for (const [uid, perPod] of [
        ['a', PER_POD[0] as PerPod],
        ['b', PER_POD[1] as PerPod],
      ] as const) {
        const body = text(uid, perPod);
        const review = JSON.parse(body) as AdmissionReview;
        results.push(memo.observe(body, memo.recall(body, SETTINGS), review, SETTINGS, outcomeFor));
      }
      return results;
    };
    const annotate = (key: string, value: string) => (p: Record<string, unknown>) => {
      (p['metadata'] as Record<string, unknown>)['annotations'] = { [key]: value };
    };

    it('hits a pod with another token name and time, and renders its answer', () => {
      const memo = new ReviewMemo();
      const text = (uid: string, perPod: PerPod) => JSON.stringify(podReview(perPodPod(perPod), { uid }));
      expect(seenTwiceAs(memo, text)).toEqual([false, true]);
      const third = PER_POD[2] as PerPod;
      const recall = memo.recall(text('c', third), SETTINGS);
      if (recall.kind !== 'hit') throw new Error('no hit');
      expect(recall.token).toBe(third.token);
      expect(recall.template.render('c', 'x7k2pmq4wz', recall.token)).toEqual(
        outcomeFor(podReview(perPodPod(third), { uid: 'c' }), 'x7k2pmq4wz'),
      );
    });

    it('remembers nothing whose token name differs between its occurrences', () => {
      const memo = new ReviewMemo();
      const text = (uid: string, perPod: PerPod) =>
        JSON.stringify(podReview(perPodPod(perPod), { uid })).replace(
          `"name":"kube-api-access-${perPod.token}","mountPath"`,
          `"name":"kube-api-access-qqqqq","mountPath"`,
        );
      expect(text('a', PER_POD[0] as PerPod)).toContain('kube-api-access-qqqqq');
      seenTwiceAs(memo, text);
      expect(memo.size).toBe(0);
    });

    it('makes no template when a token-shaped string or a time stands anywhere else', () => {
      const others: [string, (uid: string, perPod: PerPod) => string][] = [
        [
          'a token-shaped annotation value',
          (uid, perPod) =>
            JSON.stringify(
              podReview(perPodPod(perPod, annotate('example.com/v', `kube-api-access-${perPod.token}`)), {
                uid,
              }),
            ),
        ],
        [
          'a token-shaped string written with an escape',
          (uid, perPod) =>
            JSON.stringify(
              podReview(perPodPod(perPod, annotate('example.com/v', 'kube-api-access-abcde')), { uid }),
            ).replace('kube-api-access-abcde', 'kube-api-access-abcd\\u0065'),
        ],
        [
          'a time in an annotation named "time"',
          (uid, perPod) =>
            JSON.stringify(podReview(perPodPod(perPod, annotate('time', perPod.time)), { uid })),
        ],
      ];
      for (const [what, text] of others) {
        const memo = new ReviewMemo();
        expect(seenTwiceAs(memo, text), what).toEqual([false, false]);
        expect(memo.recall(text('c', PER_POD[2] as PerPod), SETTINGS).kind, what).toBe('miss');
      }
    });

    it('makes no template when the answer names the token volume outside the patch (a denial)', () => {
      // The token volume mounted at /var/run/mtls: the denial's message names it.
      const clash = (p: Record<string, unknown>) => {
        const c = (p['spec'] as { containers: { volumeMounts: { mountPath: string }[] }[] }).containers[0];
        const mount = c?.volumeMounts.at(-1);
        if (mount !== undefined) mount.mountPath = '/var/run/mtls';
      };
      const memo = new ReviewMemo();
      const text = (uid: string, perPod: PerPod) =>
        JSON.stringify(podReview(perPodPod(perPod, clash), { uid }));
      const review = JSON.parse(text('a', PER_POD[0] as PerPod)) as AdmissionReview;
      expect(outcomeFor(review, 'x7k2pmq4wz').message).toContain(`kube-api-access-${PER_POD[0]?.token}`);
      expect(seenTwiceAs(memo, text)).toEqual([false, false]);
      expect(memo.recall(text('c', PER_POD[2] as PerPod), SETTINGS).kind).toBe('miss');
    });
  });

  it('remembers nothing whose uid occurs twice, or that is too long', () => {
    const twice = (uid: string) => {
      const p = simplePod();
      (p['metadata'] as Record<string, unknown>)['uid'] = uid;
      return podReview(p, { uid });
    };
    const memo = new ReviewMemo({ maxEntries: 8, maxBodyChars: 100_000 });
    seenTwice(memo, twice);
    expect(memo.size).toBe(0);
    const small = new ReviewMemo({ maxEntries: 8, maxBodyChars: 100 });
    seenTwice(small, pod);
    expect(small.size).toBe(0);
  });

  it('holds at most maxEntries bodies', () => {
    const memo = new ReviewMemo({ maxEntries: 5, maxBodyChars: 100_000 });
    for (let i = 0; i < 23; i++) {
      // Names of different lengths: bodies with different fingerprints.
      const review = podReview(simplePod(`web-${'x'.repeat(i)}`), { uid: `u${i}` });
      memo.observe(
        JSON.stringify(review),
        memo.recall(JSON.stringify(review), SETTINGS),
        review,
        SETTINGS,
        outcomeFor,
      );
      expect(memo.size).toBeLessThanOrEqual(5);
    }
    expect(memo.size).toBe(3);
    // The body that found the memo full is remembered in the emptied one.
    const memo6 = new ReviewMemo({ maxEntries: 5, maxBodyChars: 100_000 });
    const review = (i: number, uid: string) => podReview(simplePod(`web-${'x'.repeat(i)}`), { uid });
    for (let i = 0; i < 6; i++)
      memo6.observe(JSON.stringify(review(i, 'a')), undefined, review(i, 'a'), SETTINGS, outcomeFor);
    expect(memo6.size).toBe(1);
    memo6.observe(JSON.stringify(review(5, 'b')), undefined, review(5, 'b'), SETTINGS, outcomeFor);
    expect(memo6.recall(JSON.stringify(review(5, 'c')), SETTINGS).kind).toBe('hit');
  });
});
