import type { Config } from '../config/schema.js';
import type { EventRecorder } from '../kube/types.js';
import type { Log } from '../observability/logger.js';
import type { CaManager } from './ca-manager.js';
import type { Leadership } from './leader.js';
import type { CaState } from './trust-bundle.js';

/**
 * One read of the CA Secret, told the way an operator needs it: the CA loaded (the controller checks every
 * Secret again), a CA that cannot be used, or a lost CA Secret, which the leader reports as a Warning Event
 * `CALost` on the CA Secret's name (the message says what to do; `mtls_injector_ca_lost` and /readyz say it
 * too). Then the state is published (the trust-bundle ConfigMap, leader only). Never throws.
 */
export function createCaPoll(deps: {
  readonly config: Pick<Config, 'installNamespace' | 'ca'>;
  readonly caManager: CaManager;
  readonly leadership: Pick<Leadership, 'isLeader'>;
  readonly events: EventRecorder;
  readonly log: Log;
  /** The CA or trust bundle changed. */
  readonly changed: () => void;
  /** Told the CA state after every read (the leader publishes the trust-bundle ConfigMap from it). */
  readonly publish: (state: CaState) => Promise<void>;
}): () => Promise<void> {
  const { caManager, log } = deps;
  return async () => {
    await read();
    await deps.publish({
      material: caManager.current(),
      lost: caManager.caLost()?.message,
      problem: caManager.invalidReason(),
    });
  };

  async function read(): Promise<void> {
    try {
      if (await caManager.refresh()) {
        const ca = caManager.current();
        log.info(
          { caNotAfter: ca?.active.notAfter.toISOString(), subjectKeyId: ca?.active.subjectKeyIdHex },
          'CA loaded',
        );
        deps.changed();
      }
    } catch (err) {
      const lost = caManager.caLost();
      const message = err instanceof Error ? err.message : String(err);
      if (lost === undefined) {
        log.error({ error: message }, 'CA not usable; not issuing');
        return;
      }
      log.error(
        { error: message, workloadSecrets: lost.workloadSecrets, reason: 'ca_lost' },
        'CA Secret lost; not generating a new CA',
      );
      if (deps.leadership.isLeader()) {
        const { installNamespace, ca } = deps.config;
        deps.events.record(
          { kind: 'Secret', apiVersion: 'v1', namespace: installNamespace, name: ca.secretName },
          'Warning',
          'CALost',
          lost.message,
        );
      }
    }
  }
}
