import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';

/**
 * Who the kubeconfig authenticates as, for records and Events that must name who acted: the API server's
 * answer to a SelfSubjectReview (authentication.k8s.io/v1, what `kubectl auth whoami` asks), else the
 * kubeconfig's user entry, marked as such.
 */
export function createWhoAmI(kc: KubeConfig): () => Promise<string> {
  const auth = kc.makeApiClient(AuthenticationV1Api);
  return async () => {
    try {
      const review = await auth.createSelfSubjectReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      const username = review.status?.userInfo?.username;
      if (username !== undefined && username !== '') return username;
    } catch {
      // Older API servers, or RBAC without selfsubjectreviews: fall back to the kubeconfig's own name.
    }
    return `${kc.getCurrentUser()?.name ?? 'unknown'} (kubeconfig user)`;
  };
}
