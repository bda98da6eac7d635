import type { Leadership } from '../../src/rotator/leader.js';

/** A leadership that never changes, for driving a controller without an election. */
export function staticLeadership(leading: boolean): Leadership {
  return {
    isLeader: () => leading,
    validUntil: () => (leading ? Number.POSITIVE_INFINITY : 0),
    onChange: () => undefined,
  };
}
