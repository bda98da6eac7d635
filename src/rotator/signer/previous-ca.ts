/**
 * Keeps the record of pods that may still hold a pod certificate of the previous CA (src/model/
 * previous-ca-pods.ts) while a CA rotation is activated and not yet retired: recorded once per activation
 * from a list of every pod with a podCertificate volume of our signer, then pruned as the signer signs for
 * those pods with the new CA and as they go away. One work item of the controller, so only the leader writes.
 */
import { projectedSigner } from '../../core/mutate/volume.js';
import type { RawVolume } from '../../core/pod.js';
import type { ConfigMapApi, PodObject } from '../../kube/types.js';
import type { CaMaterial } from '../../model/ca-secret.js';
import { isLive } from '../../model/pods.js';
import {
  encodePreviousCaPods,
  pendingPods,
  PREVIOUS_CA_KEY,
  type PreviousCaPods,
  prunePreviousCaPods,
  readPreviousCaPods,
} from '../../model/previous-ca-pods.js';
import { MANAGED_CONFIGMAP_LABEL } from '../../core/pod-certificate.js';
import { bundleFingerprints } from '../../pki/bundle.js';
import type { ItemKind } from '../ports.js';
import { writeDeadline, type WriteWindow } from './write-window.js';

/** Work item of the record. */
export const PREVIOUS_CA_ITEM = 'previous-ca';
/** While pods remain, gone ones are looked for this often. */
const PRUNE_EVERY_MS = 60_000;

/** Whether a pod mounts a podCertificate volume of `signerName` (any volume: a hand-made one counts too). */
function holdsPodCertificate(pod: PodObject, signerName: string): boolean {
  const volumes = pod.spec?.['volumes'];
  return Array.isArray(volumes) && (volumes as RawVolume[]).some((v) => projectedSigner(v) === signerName);
}

/** The tracker: an ItemKind, plus what the signer tells it. */
export function previousCaTracker(deps: {
  readonly configMaps: ConfigMapApi;
  readonly namespace: string;
  readonly name: string;
  readonly signerName: string;
  readonly maxExpirationSeconds: number;
  readonly ca: () => CaMaterial | undefined;
  /** Pods of one namespace, or of the whole cluster. */
  readonly listPods: (namespace?: string) => Promise<PodObject[]>;
  readonly clock: () => number;
  readonly enqueue: (item: string, at?: number) => void;
  readonly log: { info(fields: object, message: string): void };
  /** How long this replica may still write (ms); each write gets a deadline within it. */
  readonly writeWindowMs: WriteWindow;
}): ItemKind & { signed(uid: string, issuerKeyId: string): void } {
  /** UIDs signed by each active CA (by key id) since this replica started: they hold a new leaf. */
  const signedBy = new Map<string, Set<string>>();

  const fingerprints = (ca: CaMaterial) => ({
    active: bundleFingerprints(ca.active.certPem)[0] ?? '',
    previous: ca.previousCertPem === undefined ? undefined : bundleFingerprints(ca.previousCertPem)[0],
  });

  const write = async (record: PreviousCaPods | undefined): Promise<void> => {
    const current = await deps.configMaps.get(deps.namespace, deps.name);
    const text = record === undefined ? undefined : encodePreviousCaPods(record);
    if (current?.data?.[PREVIOUS_CA_KEY] === text) return;
    const what = `ConfigMap ${deps.namespace}/${deps.name}`;
    if (current === undefined) {
      if (text === undefined) return;
      await deps.configMaps.create(
        {
          metadata: {
            name: deps.name,
            namespace: deps.namespace,
            labels: { [MANAGED_CONFIGMAP_LABEL]: 'true' },
          },
          data: { [PREVIOUS_CA_KEY]: text },
        },
        writeDeadline(what, deps.writeWindowMs),
      );
      return;
    }
    if (current.metadata.labels?.[MANAGED_CONFIGMAP_LABEL] !== 'true') return;
    const data: Record<string, string> = { ...(current.data ?? {}) };
    if (text === undefined) delete data[PREVIOUS_CA_KEY];
    else data[PREVIOUS_CA_KEY] = text;
    await deps.configMaps.replace({ ...current, data }, writeDeadline(what, deps.writeWindowMs));
  };

  return {
    prefix: PREVIOUS_CA_ITEM,
    items: () => [PREVIOUS_CA_ITEM],
    signed(uid, issuerKeyId) {
      const set = signedBy.get(issuerKeyId) ?? new Set<string>();
      set.add(uid);
      signedBy.set(issuerKeyId, set);
      deps.enqueue(PREVIOUS_CA_ITEM);
    },
    async sync() {
      const ca = deps.ca();
      if (ca === undefined) return;
      const { active, previous } = fingerprints(ca);
      if (previous === undefined) {
        await write(undefined);
        return;
      }
      const renewed = signedBy.get(ca.active.subjectKeyIdHex) ?? new Set<string>();
      const existing = readPreviousCaPods(await deps.configMaps.get(deps.namespace, deps.name));
      let record: PreviousCaPods;
      if (existing === undefined || existing.active !== active || existing.previous !== previous) {
        const now = deps.clock();
        const pods: Record<string, string[]> = {};
        for (const pod of await deps.listPods()) {
          const { namespace, uid } = pod.metadata;
          if (namespace === undefined || uid === undefined || renewed.has(uid)) continue;
          if (!isLive(pod) || !holdsPodCertificate(pod, deps.signerName)) continue;
          (pods[namespace] ??= []).push(uid);
        }
        record = {
          previous,
          active,
          since: new Date(now).toISOString(),
          until: new Date(now + deps.maxExpirationSeconds * 1000).toISOString(),
          pods,
        };
        deps.log.info(
          { pods: pendingPods(record), until: record.until },
          'recorded the pods that may hold pod certificates of the previous CA',
        );
      } else {
        const alive = new Set<string>();
        for (const ns of Object.keys(existing.pods))
          for (const pod of await deps.listPods(ns))
            if (pod.metadata.uid !== undefined && isLive(pod)) alive.add(pod.metadata.uid);
        record = prunePreviousCaPods(existing, (_ns, uid) => alive.has(uid) && !renewed.has(uid));
      }
      await write(record);
      if (pendingPods(record) > 0) deps.enqueue(PREVIOUS_CA_ITEM, deps.clock() + PRUNE_EVERY_MS);
    },
  };
}
