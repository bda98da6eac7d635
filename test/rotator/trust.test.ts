/**
 * What the rotator trusts (docs/threat-model.md): only what a pod's author cannot forge. Each case is an
 * attack an author with pod create/patch rights can make, run against the controller over an in-memory API
 * and the real pki: the Secret a pod uses comes from its immutable `spec.volumes`, renewals follow the
 * Secret's controlling ownerReference, a Secret owned by another live pod is never handed over (a collision,
 * reported), and identities are issued only in namespaces that are opted in and not excluded.
 */
import { describe, expect, it } from 'vitest';
import {
  CERT_FILE,
  MANAGED_LABEL,
  OPT_IN_ENABLED,
  OPT_IN_LABEL,
  SECRET_ANNOTATION,
} from '../../src/core/names.js';
import type { PodObject, SecretObject } from '../../src/kube/types.js';
import { secretFile } from '../../src/model/secret-data.js';
import { makeHarness, managedPod } from './harness.js';

const HOUR = 3_600_000;

function cert(secret: SecretObject | undefined): string | undefined {
  return secret === undefined ? undefined : secretFile(secret, CERT_FILE);
}

function withAnnotation(pod: PodObject, secretName: string): PodObject {
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      annotations: { ...pod.metadata.annotations, [SECRET_ANNOTATION]: secretName },
    },
  };
}

function withoutManagedLabel(pod: PodObject): PodObject {
  const labels = { ...pod.metadata.labels };
  delete labels[MANAGED_LABEL];
  return { ...pod, metadata: { ...pod.metadata, labels } };
}

function ownerUid(secret: SecretObject | undefined): string | undefined {
  return secret?.metadata.ownerReferences?.find((o) => o.controller === true)?.uid;
}

describe('the rotator issues only where the namespace opted in, whatever the pod says', () => {
  it('gives no Secret to a self-labelled pod in kube-system, the install namespace or an unlabelled namespace', async () => {
    const h = makeHarness();
    for (const namespace of ['kube-system', 'mtls-injector', 'plain']) {
      h.addPod(managedPod('intruder', { namespace }));
    }
    await h.settle();
    expect(h.secrets.writes()).toBe(0);
    expect(h.events.events.map((e) => `${e.target.namespace}:${e.reason}`)).toEqual([
      'kube-system:IssueRefused',
      'mtls-injector:IssueRefused',
      'plain:IssueRefused',
    ]);
    expect(h.counts['failed:excluded_namespace']).toBe(2);
    expect(h.counts['failed:not_opted_in']).toBe(1);
  });

  it('honours the pod-level opt-in label in an unlabelled namespace, never in an excluded one', async () => {
    const h = makeHarness();
    const podOptIn = { [OPT_IN_LABEL]: OPT_IN_ENABLED };
    h.addPod(managedPod('self-service', { namespace: 'plain', labels: podOptIn }));
    h.addPod(managedPod('sneaky', { namespace: 'kube-system', labels: podOptIn }));
    await h.settle();
    expect(h.secrets.objects.has('plain/self-service-mtls')).toBe(true);
    expect(h.secrets.objects.has('kube-system/sneaky-mtls')).toBe(false);
  });

  it('issues as soon as the namespace opts in, from the Namespace watch', async () => {
    const h = makeHarness();
    h.addPod(managedPod('early', { namespace: 'plain' }));
    await h.settle();
    expect(h.secrets.objects.has('plain/early-mtls')).toBe(false);
    h.namespaces.set('plain', { [OPT_IN_LABEL]: 'strict' });
    h.controller.namespaceChanged('plain');
    await h.settle();
    expect(h.secrets.objects.has('plain/early-mtls')).toBe(true);
  });

  it('after the namespace loses its opt-in: renews what a pod already holds, issues nothing new', async () => {
    const h = makeHarness();
    h.addPod(managedPod('web-0'));
    await h.settle();
    const first = cert(h.secrets.objects.get('shop/web-0-mtls'));
    h.namespaces.set('shop', {});
    h.controller.namespaceChanged('shop');
    h.addPod(managedPod('web-1'));
    h.clock.advance(0.61 * HOUR);
    await h.settle();
    expect(cert(h.secrets.objects.get('shop/web-0-mtls'))).not.toBe(first);
    expect(h.secrets.objects.has('shop/web-1-mtls')).toBe(false);
    expect(h.events.reasons()).toContain('IssueRefused');
  });
});

describe('the Secret a pod uses is the one its volume mounts', () => {
  it('ignores an annotation naming a neighbour; the neighbour keeps renewing', async () => {
    const h = makeHarness();
    const victim = managedPod('payments-0');
    h.addPod(victim);
    await h.settle();
    const victimUid = victim.metadata.uid;

    // The attacker's pod mounts its own Secret but names the victim's in the annotation; later it PATCHes
    // the annotation again (without the admission policy, nothing stops a patch of an annotation).
    const attacker = withAnnotation(managedPod('attacker'), 'payments-0-mtls');
    h.addPod(attacker);
    h.addPod(withAnnotation(attacker, 'payments-0-mtls'));
    await h.settle();
    expect(ownerUid(h.secrets.objects.get('shop/payments-0-mtls'))).toBe(victimUid);
    expect(h.secrets.objects.has('shop/attacker-mtls')).toBe(true);

    for (let i = 0; i < 3; i++) {
      const before = cert(h.secrets.objects.get('shop/payments-0-mtls'));
      h.clock.advance(0.61 * HOUR);
      await h.settle();
      expect(cert(h.secrets.objects.get('shop/payments-0-mtls')), `renewal ${i}`).not.toBe(before);
    }
    expect(h.counts.collision).toBeUndefined();
  });

  it('keeps renewing the Secret a pod mounts when its annotation is changed', async () => {
    const h = makeHarness();
    const pod = managedPod('web-0');
    h.addPod(pod);
    await h.settle();
    h.addPod(withAnnotation(pod, 'something-else-mtls'));
    const before = cert(h.secrets.objects.get('shop/web-0-mtls'));
    h.clock.advance(0.61 * HOUR);
    await h.settle();
    expect(cert(h.secrets.objects.get('shop/web-0-mtls'))).not.toBe(before);
    expect(h.secrets.objects.has('shop/something-else-mtls')).toBe(false);
  });

  it('keeps renewing when the managed label is removed: renewal follows the ownerReference', async () => {
    const h = makeHarness();
    const pod = managedPod('web-0');
    h.addPod(pod);
    await h.settle();
    // The label-selected pod watch drops the pod; the API still has it.
    h.pods.set('shop/web-0', withoutManagedLabel(pod));
    h.controller.removePod(pod);
    for (let i = 0; i < 3; i++) {
      const before = cert(h.secrets.objects.get('shop/web-0-mtls'));
      h.clock.advance(0.61 * HOUR);
      await h.settle();
      expect(cert(h.secrets.objects.get('shop/web-0-mtls')), `renewal ${i}`).not.toBe(before);
    }
    expect(ownerUid(h.secrets.objects.get('shop/web-0-mtls'))).toBe(pod.metadata.uid);
  });
});

describe('a Secret claimed by two live pods stays with its owner (a collision)', () => {
  it('never re-points it, reports it on both pods and in the metric, and the owner keeps renewing', async () => {
    const h = makeHarness();
    const owner = managedPod('web-7d9f-bcdfgbcdfg', { secretName: 'web-7d9f-x7k2pmq4wz-mtls' });
    h.addPod(owner);
    await h.settle();
    // A second pod whose volume names the same Secret: a suffix collision, or a pod created with a copied
    // volume and status annotation.
    const claimant = managedPod('web-7d9f-hjklmhjklm', { secretName: 'web-7d9f-x7k2pmq4wz-mtls' });
    h.addPod(claimant);
    await h.settle();

    const secret = h.secrets.objects.get('shop/web-7d9f-x7k2pmq4wz-mtls');
    expect(ownerUid(secret)).toBe(owner.metadata.uid);
    expect(h.counts.collision).toBe(1);
    const collisions = h.events.events.filter((e) => e.reason === 'SecretCollision');
    expect(collisions.map((e) => e.target.name).sort()).toEqual([
      'web-7d9f-bcdfgbcdfg',
      'web-7d9f-hjklmhjklm',
    ]);
    expect(collisions.every((e) => e.type === 'Warning')).toBe(true);

    // Renewal due: the owner's sync renews; the claimant is never given the Secret.
    for (let i = 0; i < 3; i++) {
      const before = cert(h.secrets.objects.get('shop/web-7d9f-x7k2pmq4wz-mtls'));
      h.clock.advance(0.61 * HOUR);
      await h.settle();
      expect(cert(h.secrets.objects.get('shop/web-7d9f-x7k2pmq4wz-mtls')), `renewal ${i}`).not.toBe(before);
      expect(ownerUid(h.secrets.objects.get('shop/web-7d9f-x7k2pmq4wz-mtls'))).toBe(owner.metadata.uid);
    }

    // The claimant goes; the owner is still renewed (the issue saw it stuck after the attacker was deleted).
    h.deletePod(claimant);
    const before = cert(h.secrets.objects.get('shop/web-7d9f-x7k2pmq4wz-mtls'));
    h.clock.advance(0.61 * HOUR);
    await h.settle();
    expect(cert(h.secrets.objects.get('shop/web-7d9f-x7k2pmq4wz-mtls'))).not.toBe(before);
  });

  it('reports a collision with an owner the pod watch does not show, after reading it from the API', async () => {
    const h = makeHarness();
    const owner = managedPod('db-0');
    h.addPod(owner);
    await h.settle();
    h.pods.set('shop/db-0', withoutManagedLabel(owner));
    h.controller.removePod(owner);
    h.addPod(managedPod('intruder', { secretName: 'db-0-mtls' }));
    await h.settle();
    expect(ownerUid(h.secrets.objects.get('shop/db-0-mtls'))).toBe(owner.metadata.uid);
    expect(h.counts.collision).toBe(1);
  });

  it('hands a Secret to a new pod once the pod that owned it is gone', async () => {
    const h = makeHarness();
    const old = managedPod('batch-abc', { secretName: 'shared-mtls' });
    h.addPod(old);
    await h.settle();
    h.deletePod(old); // the garbage collector has not deleted the Secret yet
    const next = managedPod('batch-def', { secretName: 'shared-mtls' });
    h.addPod(next);
    await h.settle();
    expect(ownerUid(h.secrets.objects.get('shop/shared-mtls'))).toBe(next.metadata.uid);
    expect(h.counts.collision).toBeUndefined();
  });
});

describe('finished pods', () => {
  it('are neither renewed nor counted in the low-life and soonest-expiry gauges', async () => {
    const h = makeHarness();
    const job = managedPod('job-abc');
    h.addPod(job);
    h.addPod(managedPod('web-0'));
    await h.settle();
    h.addPod({ ...job, status: { phase: 'Succeeded' } });
    const jobCert = cert(h.secrets.objects.get('shop/job-abc-mtls'));
    h.clock.advance(0.61 * HOUR);
    await h.settle();
    expect(cert(h.secrets.objects.get('shop/job-abc-mtls'))).toBe(jobCert);
    h.clock.advance(0.3 * HOUR); // the job's certificate now has < 25 % left; web-0's was renewed
    const stats = h.controller.stats();
    expect(stats.lowLife).toBe(0);
    expect(stats.managed).toBe(1);
    const web = h.secrets.objects.get('shop/web-0-mtls');
    expect(web).toBeDefined();
  });
});
