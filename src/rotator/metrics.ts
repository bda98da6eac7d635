import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LOW_LIFE_FRACTION } from '../model/lifetime.js';

/** The rotator's Prometheus metrics, on a Registry passed in (no global registry). */
export interface RotatorMetrics {
  readonly issued: Counter<'kind'>;
  readonly failures: Counter<'reason'>;
  readonly foreignSecrets: Counter;
  readonly podCertificateDenials: Counter<'reason'>;
  readonly secretCollisions: Counter;
  readonly queueDepth: Gauge;
  readonly managedSecrets: Gauge;
  readonly soonestExpiry: Gauge;
  readonly lowLifeCertificates: Gauge;
  readonly caExpiry: Gauge;
  readonly caLost: Gauge;
  readonly leader: Gauge;
  readonly driftPods: Gauge;
  readonly lostOptInPods: Gauge;
  readonly revokedCertificates: Gauge;
  readonly crlAge: Gauge;
  readonly revokeToReissue: Histogram;
}

/** Registers the rotator metrics. `snapshot` is read at scrape time for the gauges derived from state. */
export function createRotatorMetrics(
  registry: Registry,
  snapshot: () => {
    queueDepth: number;
    managed: number;
    soonestExpiry: number;
    lowLife: number;
    caExpiry: number;
    caLost: boolean;
    leader: boolean;
    driftPods: number;
    lostOptInPods: number;
    /** Live entries of the revocation record (as the leader last read it). */
    revoked: number;
    /** Seconds since the thisUpdate of the oldest CRL published (0 while none is). */
    crlAge: number;
  },
): RotatorMetrics {
  const registers = [registry];
  const read = (pick: (s: ReturnType<typeof snapshot>) => number) =>
    function (this: Gauge) {
      this.set(pick(snapshot()));
    };
  return {
    issued: new Counter({
      name: 'mtls_injector_certificates_issued_total',
      help: 'Workload and serving certificates written, by kind (issued = new Secret, renewed, reissued, bundle_refreshed, pod_certificate = a PodCertificateRequest signed).',
      labelNames: ['kind'],
      registers,
    }),
    failures: new Counter({
      name: 'mtls_injector_issue_failures_total',
      help: 'Failures to issue or write a certificate (Secret or PodCertificateRequest status), by reason.',
      labelNames: ['reason'],
      registers,
    }),
    foreignSecrets: new Counter({
      name: 'mtls_injector_foreign_secrets_total',
      help: 'Times a pod named a Secret that mtls-injector does not own (never overwritten).',
      registers,
    }),
    podCertificateDenials: new Counter({
      name: 'mtls_injector_pod_certificate_denials_total',
      help: 'PodCertificateRequests the signer denied, by the reason of their Denied condition.',
      labelNames: ['reason'],
      registers,
    }),
    secretCollisions: new Counter({
      name: 'mtls_injector_secret_collisions_total',
      help: 'Times a pod mounted a Secret owned by another pod that still exists (the Secret stays with its owner).',
      registers,
    }),
    queueDepth: new Gauge({
      name: 'mtls_injector_rotator_queue_depth',
      help: 'Work items waiting.',
      registers,
      collect: read((s) => s.queueDepth),
    }),
    managedSecrets: new Gauge({
      name: 'mtls_injector_managed_secrets',
      help: 'Managed Secrets the rotator tracks.',
      registers,
      collect: read((s) => s.managed),
    }),
    soonestExpiry: new Gauge({
      name: 'mtls_injector_leaf_soonest_expiry_timestamp_seconds',
      help: 'notAfter of the managed certificate that expires first (0 when none).',
      registers,
      collect: read((s) => s.soonestExpiry),
    }),
    lowLifeCertificates: new Gauge({
      name: 'mtls_injector_leaf_low_life_certificates',
      help: `Managed certificates with less than ${LOW_LIFE_FRACTION * 100}% of their lifetime left (alert when > 0).`,
      registers,
      collect: read((s) => s.lowLife),
    }),
    caExpiry: new Gauge({
      name: 'mtls_injector_ca_expiry_timestamp_seconds',
      help: 'notAfter of the active issuing CA.',
      registers,
      collect: read((s) => s.caExpiry),
    }),
    caLost: new Gauge({
      name: 'mtls_injector_ca_lost',
      help: 'The CA Secret is missing while workload Secrets issued from it exist (a new CA is not generated; restore it or rotate).',
      registers,
      collect: read((s) => (s.caLost ? 1 : 0)),
    }),
    driftPods: new Gauge({
      name: 'mtls_injector_drift_pods',
      help: 'Live pods in opted-in namespaces without an mTLS identity (see Warning Events NotInjected).',
      registers,
      collect: read((s) => s.driftPods),
    }),
    lostOptInPods: new Gauge({
      name: 'mtls_injector_lost_opt_in_pods',
      help: 'Injected pods still running in namespaces that lost the opt-in label.',
      registers,
      collect: read((s) => s.lostOptInPods),
    }),
    revokedCertificates: new Gauge({
      name: 'mtls_injector_revoked_certificates',
      help: 'Revoked certificates still within their validity (live entries of the revocation record; leader only).',
      registers,
      collect: read((s) => s.revoked),
    }),
    crlAge: new Gauge({
      name: 'mtls_injector_crl_age_seconds',
      help: 'Seconds since the thisUpdate of the oldest CRL in the published ca.crl (0 while none is published; leader only).',
      registers,
      collect: read((s) => s.crlAge),
    }),
    revokeToReissue: new Histogram({
      name: 'mtls_injector_revoke_to_reissue_seconds',
      help: 'From a revocation being recorded (revokedAt) to the affected Secret holding a new certificate.',
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    }),
    leader: new Gauge({
      name: 'mtls_injector_rotator_leader',
      help: '1 when this replica is the leader.',
      registers,
      collect: read((s) => (s.leader ? 1 : 0)),
    }),
  };
}
