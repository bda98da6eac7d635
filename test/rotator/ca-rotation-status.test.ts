import { describe, expect, it } from 'vitest';
import { runStep } from '../../src/cli/ca-rotate.js';
import { loadConfig } from '../../src/config/loader.js';
import { PROPAGATION_ANNOTATION } from '../../src/model/ca-secret.js';
import { makeHarness, managedPod } from './harness.js';
import { caManagerOf, output, rotating } from './rotation-helpers.js';

interface StepView {
  readonly step: string;
  readonly state: string;
  readonly reason: string;
  readonly retryInSeconds?: number;
  readonly startsWait?: boolean;
}
interface StatusView {
  readonly phase: string;
  readonly managed: number;
  readonly ready: number;
  readonly steps: readonly StepView[];
}

describe('ca rotate status', () => {
  it('says for every step whether it may run now and how long is left, and the step agrees', async () => {
    const h = makeHarness({ flags: { 'ca.propagationDelay': '5m' } });
    const { reload } = rotating(h);
    await reload();
    for (const name of ['a', 'b', 'c', 'd']) h.controller.upsertPod(managedPod(name));
    await h.settle();

    const status = async (): Promise<StatusView> => {
      const { ctx, text } = output();
      expect(
        await runStep('status', h.config, h.secrets, ctx, new Date(h.clock.now), undefined, 'json'),
      ).toBe(0);
      return JSON.parse(text.out) as StatusView;
    };
    const text = async (): Promise<string> => {
      const { ctx, text: t } = output();
      await runStep('status', h.config, h.secrets, ctx, new Date(h.clock.now));
      return t.out;
    };
    const step = (s: StatusView, name: string): StepView => {
      const found = s.steps.find((x) => x.step === name);
      if (found === undefined) throw new Error(`no step ${name}`);
      return found;
    };
    /** Runs `name` and checks status said the same: 'now' exactly when the step runs. */
    const runAgreeing = async (name: 'prepare' | 'activate' | 'retire'): Promise<number> => {
      const said = step(await status(), name).state;
      const { ctx } = output();
      const code = await runStep(name, h.config, h.secrets, ctx, new Date(h.clock.now));
      expect(code === 0, `${name}: status said ${said}, the step exited ${code}`).toBe(said === 'now');
      return code;
    };

    let s = await status();
    expect(s.phase).toBe('steady');
    expect(s.steps.map((x) => x.state)).toEqual(['now', 'blocked', 'blocked']);
    expect(await runAgreeing('activate')).toBe(1);
    expect(await runAgreeing('prepare')).toBe(0);

    // Prepared, the rotator has not copied the new root anywhere yet: activate waits, with no time known.
    s = await status();
    expect(s.phase).toBe('prepared');
    expect([s.ready, s.managed]).toEqual([0, 4]);
    expect(step(s, 'activate')).toMatchObject({ state: 'waiting' });
    expect(step(s, 'activate').retryInSeconds).toBeUndefined();
    expect(step(s, 'activate').reason).toContain('do not trust the new root yet');
    expect(await text()).toMatch(/activate\s+not yet: 4 managed Secret\(s\) do not trust the new root yet/);
    expect(await text()).not.toMatch(/next: mtls-injector ca rotate activate\n/);
    expect(await runAgreeing('activate')).toBe(1);

    // Every Secret trusts it: only the propagation delay is left. Its wait starts at activate's next attempt
    // (which records it on the CA Secret); status writes nothing, so it says so and does not count down.
    await reload();
    const writes = h.secrets.writes();
    s = await status();
    expect([s.ready, s.managed]).toEqual([4, 4]);
    expect(step(s, 'activate')).toMatchObject({ state: 'waiting', retryInSeconds: 300, startsWait: true });
    expect(step(s, 'activate').reason).toContain(
      'the wait starts when you run `mtls-injector ca rotate activate`',
    );
    h.clock.advance(60_000);
    expect(step(await status(), 'activate')).toMatchObject({ retryInSeconds: 300, startsWait: true });
    expect(await text()).toContain('activate  may run 300s after its next attempt');
    expect(await text()).toContain(
      'next: mtls-injector ca rotate activate --wait (starts the 300s wait, then runs the step)',
    );
    expect(h.secrets.writes()).toBe(writes);
    expect(await runAgreeing('activate')).toBe(1);
    expect(h.secrets.writes()).toBe(writes + 1);

    // The attempt started the wait: status counts it down.
    expect(step(await status(), 'activate')).toMatchObject({ state: 'waiting', retryInSeconds: 300 });
    expect(step(await status(), 'activate').startsWait).toBeUndefined();
    h.clock.advance(120_000);
    expect(step(await status(), 'activate')).toMatchObject({ state: 'waiting', retryInSeconds: 180 });
    expect(await text()).toContain('activate  may run in 180s');
    expect(await text()).toContain('next: mtls-injector ca rotate activate in 180s');
    expect(await runAgreeing('activate')).toBe(1);
    h.clock.advance(180_000);
    expect(await text()).toContain('next: mtls-injector ca rotate activate\n');
    expect(await runAgreeing('activate')).toBe(0);

    // Activated: retire waits for every leaf to be reissued, then for the delivery wait its attempt starts.
    s = await status();
    expect(s.phase).toBe('activated');
    expect(step(s, 'retire').state).toBe('waiting');
    expect(step(s, 'retire').startsWait).toBeUndefined();
    expect(s.ready).toBe(0);
    expect(step(s, 'prepare').state).toBe('blocked');
    expect(await runAgreeing('retire')).toBe(1);
    await reload();
    s = await status();
    expect([s.ready, s.managed]).toEqual([4, 4]);
    expect(step(s, 'retire')).toMatchObject({ state: 'waiting', retryInSeconds: 300, startsWait: true });
    expect(await runAgreeing('retire')).toBe(1);
    h.clock.advance(299_000);
    expect(step(await status(), 'retire')).toMatchObject({ state: 'waiting', retryInSeconds: 1 });
    expect(await runAgreeing('retire')).toBe(1);
    h.clock.advance(1_000);
    expect(await runAgreeing('retire')).toBe(0);
    expect((await status()).phase).toBe('steady');
  });

  it('does not say a wait starts when a refusal only clears a stale mark', async () => {
    const h = makeHarness({ flags: { 'ca.propagationDelay': '5m' } });
    const { reload } = rotating(h);
    await reload();
    h.controller.upsertPod(managedPod('a'));
    await h.settle();
    const { ctx } = output();
    expect(await runStep('prepare', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(0);
    await reload();
    expect(await runStep('activate', h.config, h.secrets, ctx, new Date(h.clock.now))).toBe(1); // starts the wait
    // A new pod's Secret, written before the rotator copied the new root into it: it falls behind.
    h.controller.upsertPod(managedPod('late'));
    await h.settle();
    const late = [...h.secrets.objects.values()].find((x) => x.metadata.name?.includes('late'));
    expect(late).toBeDefined();
    if (late !== undefined) {
      const data = { ...(late.data ?? {}), 'ca.crt': Buffer.from('').toString('base64') };
      h.secrets.objects.set(`${late.metadata.namespace ?? ''}/${late.metadata.name ?? ''}`, {
        ...late,
        data,
      });
    }
    // The mark is there, so activate's refusal would write (to clear it): a write that starts no wait.
    const ca = h.secrets.objects.get('mtls-injector/mtls-injector-ca');
    expect(ca?.metadata.annotations?.[PROPAGATION_ANNOTATION]).toMatch(/^activate /);
    const out = output();
    await runStep('status', h.config, h.secrets, out.ctx, new Date(h.clock.now), undefined, 'json');
    const activate = (JSON.parse(out.text.out) as StatusView).steps.find((x) => x.step === 'activate');
    expect(activate?.reason).toContain('do not trust the new root yet');
    expect(activate?.reason).not.toContain('the wait starts');
    expect(activate?.startsWait).toBeUndefined();
    expect(activate?.retryInSeconds).toBeUndefined();
  });

  it('refuses prepare for a bring-your-own CA, pointing at the runbook, and writes nothing', async () => {
    const h = makeHarness();
    await caManagerOf(h).refresh();
    const writes = h.secrets.writes();
    const byo = loadConfig({ flags: { 'ca.bringYourOwn': 'true' } });
    const { ctx, text } = output();
    expect(await runStep('prepare', byo, h.secrets, ctx, new Date(h.clock.now))).toBe(1);
    expect(text.err).toContain('ca.bringYourOwn is set');
    expect(text.err).toContain('docs/runbooks/ca-rotation.md');
    expect(h.secrets.writes()).toBe(writes);
  });

  it('counts, when steady, the certificates issued by the current CA', async () => {
    const h = makeHarness();
    const caManager = caManagerOf(h);
    if (await caManager.refresh()) h.setCa(caManager.current() ?? h.ca);
    for (const name of ['a', 'b']) h.controller.upsertPod(managedPod(name));
    await h.settle();
    const { ctx, text } = output();
    await runStep('status', h.config, h.secrets, ctx, new Date(h.clock.now));
    expect(text.out).toContain('managed certificates issued by the current CA: 2/2');
  });
});
