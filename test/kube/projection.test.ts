/**
 * What the rotator keeps of watched pods and Secrets (src/kube/projection.ts): every field it reads, and
 * none of the rest.
 */
import { podFacts } from '../../src/rotator/signer/verdict.js';
import { describe, expect, it } from 'vitest';
import type { PodObject, SecretObject } from '../../src/kube/types.js';
import { mountedSecretName, isLive } from '../../src/model/pods.js';
import { projectPod, projectSecret } from '../../src/kube/projection.js';

const managedFields = [{ manager: 'kubelet', operation: 'Update', fieldsV1: { 'f:status': {} } }];

const pod = (volumes: unknown[]): PodObject => ({
  metadata: {
    name: 'web-1',
    namespace: 'shop',
    uid: 'u1',
    resourceVersion: '7',
    labels: { app: 'web', 'mtls-injector.io/managed': 'true' },
    annotations: { a: 'b', 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":true}' },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs1', controller: true },
    ],
    deletionTimestamp: '2026-11-23T00:00:00Z',
    managedFields,
  } as PodObject['metadata'],
  spec: {
    serviceAccountName: 'web',
    containers: [{ name: 'app', image: 'app:1' }],
    volumes,
  },
  status: { phase: 'Running', podIP: '10.0.0.1', conditions: [] },
});

describe('projectPod', () => {
  it('keeps metadata, the service account, the mtls-certs volumes and the phase; drops the rest', () => {
    const projected = projectPod(
      pod([
        { name: 'mtls-certs', secret: { secretName: 'web-1-mtls' } },
        { name: 'token', projected: { sources: [] } },
      ]),
    );
    expect(projected).toEqual({
      metadata: {
        name: 'web-1',
        namespace: 'shop',
        uid: 'u1',
        resourceVersion: '7',
        labels: { app: 'web', 'mtls-injector.io/managed': 'true' },
        annotations: { a: 'b' },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs1', controller: true },
        ],
        deletionTimestamp: '2026-11-23T00:00:00Z',
      },
      spec: {
        serviceAccountName: 'web',
        volumes: [{ name: 'mtls-certs', secret: { secretName: 'web-1-mtls' } }],
      },
      status: { phase: 'Running' },
    });
    expect(mountedSecretName(projected)).toBe('web-1-mtls');
    expect(isLive(projected)).toBe(false);
  });

  it('keeps every mtls-certs volume, so a pod with two still mounts no identity', () => {
    const two = pod([
      { name: 'mtls-certs', secret: { secretName: 'a' } },
      { name: 'mtls-certs', secret: { secretName: 'b' } },
    ]);
    expect(mountedSecretName(projectPod(two))).toBeUndefined();
    expect(mountedSecretName(projectPod(pod([])))).toBeUndefined();
  });

  it('keeps the node a bound pod runs on and its podCertificate volume, which the signer reads', () => {
    const volume = {
      name: 'mtls-certs',
      projected: { sources: [{ podCertificate: { signerName: 'mtls-injector.io/spiffe' } }] },
    };
    const bound = pod([volume]);
    const projected = projectPod({ ...bound, spec: { ...bound.spec, nodeName: 'node-1' } });
    expect(projected.spec).toEqual({ serviceAccountName: 'web', nodeName: 'node-1', volumes: [volume] });
    expect(podFacts(projected)?.nodeName).toBe('node-1');
  });
});

describe('projectSecret', () => {
  const secret = (bundle: string): SecretObject =>
    ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'shop', resourceVersion: '3', labels: { x: 'y' }, managedFields },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5', 'ca.crt': bundle },
      immutable: false,
    }) as SecretObject;

  it('keeps what the rotator reads and writes back, without managedFields', () => {
    const projected = projectSecret(secret('YnVuZGxl'));
    expect(projected).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'shop', resourceVersion: '3', labels: { x: 'y' } },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5', 'ca.crt': 'YnVuZGxl' },
      immutable: false,
    });
  });

  it('keeps ca.crl beside ca.crt, value for value (the rotator compares it with the published CRL)', () => {
    const withCrl = secret('YnVuZGxl');
    const data = { ...withCrl.data, 'ca.crl': 'Y3Js' };
    expect(projectSecret({ ...withCrl, data }).data).toEqual(data);
    const crlOnly: SecretObject = { metadata: { name: 'n' }, data: { 'ca.crl': 'Y3Js' } };
    expect(projectSecret(crlOnly)).toEqual(crlOnly);
  });

  it('answers its own projection unchanged', () => {
    const once = projectSecret(secret('YnVuZGxl'));
    expect(projectSecret(once)).toBe(once);
  });

  it('leaves a Secret without data or ca.crt as it was, field for field', () => {
    const bare: SecretObject = { metadata: { name: 'n', namespace: 'ns' } };
    expect(projectSecret(bare)).toEqual(bare);
    const noBundle: SecretObject = { metadata: { name: 'n' }, data: { 'tls.crt': 'eA==' } };
    expect(projectSecret(noBundle)).toEqual(noBundle);
  });
});
