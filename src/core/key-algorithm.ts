/** Key algorithms the product issues with. ECDSA P-256 is the default; RSA keys come from a warm pool. */
export const KEY_ALGORITHMS = ['ecdsa-p256', 'rsa-2048', 'rsa-3072', 'ed25519'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
