import { INIT_CONTAINER_NAME } from '../core/names.js';
import type { PodObject } from '../kube/types.js';
import { type CheckResult, fail } from './result.js';

/** The kubelet's waiting reasons for an image it cannot get (pkg/kubelet/images: ErrImagePull and kin). */
const PULL_FAILURES: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
]);

interface WaitingStatus {
  readonly name?: unknown;
  readonly image?: unknown;
  readonly state?: { readonly waiting?: { readonly reason?: unknown; readonly message?: unknown } };
}

/**
 * `init-image`: the pod's mtls-init container waits for an image the node cannot get. The mtls-init image is
 * not the product image (docs/adr/0010-dedicated-init-image.md), so a mirror that copied only the product
 * image leaves every new injected pod here while the webhook and the rotator run. Undefined when the
 * container is not waiting on its image (nothing to say: the pod's other checks tell the rest).
 */
export function initImageCheck(pod: PodObject): CheckResult | undefined {
  const statuses = pod.status?.['initContainerStatuses'];
  if (!Array.isArray(statuses)) return undefined;
  const init = (statuses as WaitingStatus[]).find((s) => s.name === INIT_CONTAINER_NAME);
  const reason = init?.state?.waiting?.reason;
  if (typeof reason !== 'string' || !PULL_FAILURES.has(reason)) return undefined;
  const image = typeof init?.image === 'string' ? init.image : 'its image';
  const detail = typeof init?.state?.waiting?.message === 'string' ? `: ${init.state.waiting.message}` : '';
  return fail(
    'init-image',
    'error',
    'init_image_unavailable',
    `mtls-init cannot start, so neither can the pod: the node cannot get ${image} (${reason}${detail})`,
    'the mtls-init image is published apart from the product image: copy it to your registry too and set the chart value init.repository (or init.image) to it (docs/install.md), then delete the pod',
  );
}
