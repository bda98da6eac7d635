/**
 * The names of the delivery modes, apart from src/core/delivery.ts so the config schema (and with it the
 * mtls-init container, which loads the schema on every pod's start) does not load zod for three strings.
 */

/** The two ways files reach a pod. */
export const DELIVERY_MODES = ['secret', 'podCertificate'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];
/** The install's default: one of the modes, or auto (podCertificate where the API server serves it). */
export const DELIVERY_SETTINGS = ['auto', ...DELIVERY_MODES] as const;
export type DeliverySetting = (typeof DELIVERY_SETTINGS)[number];
