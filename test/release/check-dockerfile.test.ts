/**
 * scripts/check-dockerfile.sh's checks of the mtls-init stage (the init container's image), which run before
 * anything is built: the real Dockerfile passes them (PARSE_ONLY=1 stops there), and each way of breaking the
 * stage fails loudly, naming what is wrong. The full replay (build, layout, running both images) is
 * `npm run docker:check`, in CI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../tools.js';

const dockerfile = readFileSync(resolve(REPO_ROOT, 'Dockerfile'), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'check-dockerfile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The script on a Dockerfile text, stopping after its parse-time checks. */
function check(text: string): { status: number; output: string } {
  const file = join(work, `Dockerfile-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, text);
  const r = spawnSync('bash', ['scripts/check-dockerfile.sh'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, DOCKERFILE: file, PARSE_ONLY: '1' },
  });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** The Dockerfile with one piece replaced (the piece must be there, so a stale case cannot pass by accident). */
function changed(from: string, to: string): string {
  expect(dockerfile).toContain(from);
  return dockerfile.replace(from, to);
}

const INIT_FROM = 'FROM scratch AS mtls-init';
const INIT_COPY = 'COPY --from=init-build /src/bin/mtls-init /app/bin/mtls-init';

describe('check-dockerfile: the mtls-init stage', () => {
  it('accepts the Dockerfile: scratch, only the binary, non-root, the binary as entrypoint, the labels', () => {
    const r = check(dockerfile);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(
      'mtls-init: FROM scratch, COPY --from=init-build of /app/bin/mtls-init only, USER 65532:65532, ENTRYPOINT ["/app/bin/mtls-init"], 4 OCI labels (title mtls-init)',
    );
    // The product image is the last stage: a build without --target gives it.
    expect(r.output).toMatch(
      /stages: init-build mtls-init build stage3; bases: .* gcr\.io\/distroless\/nodejs24/,
    );
  });

  it.each([
    ['no mtls-init stage', changed(`${INIT_FROM}\n`, ''), 'expected exactly 4 stages'],
    [
      'a base other than scratch',
      changed(INIT_FROM, 'FROM ${RUNTIME_IMAGE} AS mtls-init'),
      "it must be 'FROM scratch AS mtls-init', got FROM gcr.io/distroless/nodejs24-debian12:nonroot AS mtls-init",
    ],
    [
      'another file beside the binary',
      changed(INIT_COPY, `${INIT_COPY}\nCOPY --from=build /src/dist /app/dist`),
      'the mtls-init stage copies only the binary: COPY --from=init-build <binary> /app/bin/mtls-init, got: COPY --from=build /src/dist /app/dist',
    ],
    [
      'the binary twice',
      changed(INIT_COPY, `${INIT_COPY}\n${INIT_COPY}`),
      'the mtls-init stage must COPY /app/bin/mtls-init exactly once, got 2 COPY lines',
    ],
    [
      'a RUN (no shell in scratch)',
      changed(INIT_COPY, `${INIT_COPY}\nRUN ["/app/bin/mtls-init", "--help"]`),
      'the mtls-init stage may hold only LABEL, COPY of the binary, USER and ENTRYPOINT (no shell, no env), got: RUN',
    ],
    [
      'an ENV',
      changed(INIT_COPY, `${INIT_COPY}\nENV GODEBUG=x509sha1=1`),
      'may hold only LABEL, COPY of the binary, USER and ENTRYPOINT (no shell, no env), got: ENV GODEBUG=x509sha1=1',
    ],
    [
      'root',
      changed(`${INIT_COPY}\nUSER 65532:65532`, `${INIT_COPY}\nUSER 0:0`),
      "the mtls-init stage's USER must be a numeric non-root uid[:gid], got '0:0'",
    ],
    [
      'no USER',
      changed(`${INIT_COPY}\nUSER 65532:65532\n`, `${INIT_COPY}\n`),
      "the mtls-init stage's USER must be a numeric non-root uid[:gid], got ''",
    ],
    [
      'a shell-form entrypoint',
      changed('ENTRYPOINT ["/app/bin/mtls-init"]', 'ENTRYPOINT /app/bin/mtls-init'),
      "the mtls-init stage's ENTRYPOINT must be exec form (JSON array), got: /app/bin/mtls-init",
    ],
    [
      'arguments in the entrypoint',
      changed(
        'ENTRYPOINT ["/app/bin/mtls-init"]',
        'ENTRYPOINT ["/app/bin/mtls-init", "--dir", "/var/run/mtls"]',
      ),
      'must be exactly ["/app/bin/mtls-init"] (the webhook\'s command), got ["/app/bin/mtls-init","--dir","/var/run/mtls"]',
    ],
    [
      "the product's title",
      changed('title="mtls-init"', 'title="mtls-injector"'),
      'label org.opencontainers.image.title="mtls-injector": expected "mtls-init"',
    ],
    [
      'a label the product image lacks',
      changed(
        'LABEL org.opencontainers.image.title="mtls-init"',
        'LABEL org.opencontainers.image.title="mtls-init" team="x"',
      ),
      'label team="x": expected "(no such label in the final stage)"',
    ],
    [
      'a missing label',
      changed(
        'LABEL org.opencontainers.image.title="mtls-init" \\\n      org.opencontainers.image.description',
        'LABEL org.opencontainers.image.description',
      ),
      'the mtls-init stage has 3 labels, the final stage 4',
    ],
  ])('fails on %s', (_case, text, message) => {
    const r = check(text);
    expect(r.status, r.output).toBe(1);
    expect(r.output).toContain('check-dockerfile: FAIL: ');
    expect(r.output).toContain(message);
  });

  it('fails when the mtls-init stage comes last (a build without --target must give the product image)', () => {
    const withoutInit = changed(
      dockerfile.slice(dockerfile.indexOf(INIT_FROM), dockerfile.indexOf('FROM ${BUILD_IMAGE}')),
      '',
    );
    const initStage = dockerfile.slice(
      dockerfile.indexOf(INIT_FROM),
      dockerfile.indexOf('FROM ${BUILD_IMAGE}'),
    );
    const r = check(`${withoutInit}\n${initStage}`);
    expect(r.status, r.output).toBe(1);
    expect(r.output).toContain(
      "it must be 'FROM scratch AS mtls-init', got FROM node:24-bookworm-slim AS build",
    );
  });
});
