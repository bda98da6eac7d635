import { randomInt } from 'node:crypto';
import { GENERATE_NAME_ALPHABET, SECRET_NAME_RANDOM_LENGTH } from '../core/names.js';

/**
 * SECRET_NAME_RANDOM_LENGTH (10) random characters of Kubernetes' generateName alphabet, for the Secret name of a pod that has only
 * generateName during admission. Drawn here, at the edge, because core draws no randomness.
 */
export function randomSecretSuffix(): string {
  let out = '';
  for (let i = 0; i < SECRET_NAME_RANDOM_LENGTH; i++) {
    out += GENERATE_NAME_ALPHABET[randomInt(GENERATE_NAME_ALPHABET.length)];
  }
  return out;
}
