import { describe, expect, it } from 'vitest';
import type { PodObject, SecretObject } from '../../src/kube/types.js';
import { secretsInUse } from '../../src/model/ca-rotation.js';

const secret = (name: string, podUid?: string): SecretObject => ({
  metadata: {
    name,
    namespace: 'shop',
    ...(podUid === undefined
      ? {}
      : { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: `${name}-pod`, uid: podUid }] }),
  },
});
const pod = (uid: string, phase: string, deleting = false): PodObject => ({
  metadata: {
    name: `${uid}-pod`,
    namespace: 'shop',
    uid,
    ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  status: { phase },
});

describe('secretsInUse', () => {
  it('keeps the Secrets of running and pending pods and those owned by no pod, drops finished and gone ones', () => {
    const managed = [
      secret('running', 'u1'),
      secret('pending', 'u2'),
      secret('job-done', 'u3'),
      secret('job-failed', 'u4'),
      secret('deleting', 'u5'),
      secret('gone', 'u6'),
      secret('webhook-tls'),
    ];
    const pods = [
      pod('u1', 'Running'),
      pod('u2', 'Pending'),
      pod('u3', 'Succeeded'),
      pod('u4', 'Failed'),
      pod('u5', 'Running', true),
    ];
    expect(secretsInUse(managed, pods).map((s) => s.metadata.name)).toEqual([
      'running',
      'pending',
      'webhook-tls',
    ]);
  });
});
