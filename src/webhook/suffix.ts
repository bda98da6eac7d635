import { randomInt } from 'node:crypto';
import { GENERATE_NAME_ALPHABET, GENERATE_NAME_SUFFIX_LENGTH } from '../core/names.js';

/**
 * Five random characters of Kubernetes' generateName alphabet, for the Secret name of a pod that has only
 * generateName during admission. Drawn here, at the edge, because core draws no randomness.
 */
export function randomSecretSuffix(): string {
  let out = '';
  for (let i = 0; i < GENERATE_NAME_SUFFIX_LENGTH; i++) {
    out += GENERATE_NAME_ALPHABET[randomInt(GENERATE_NAME_ALPHABET.length)];
  }
  return out;
}
