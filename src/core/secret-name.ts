import {
  GENERATE_NAME_ALPHABET,
  GENERATE_NAME_SUFFIX_LENGTH,
  SECRET_NAME_RANDOM_LENGTH,
  SECRET_NAME_SUFFIX,
} from './names.js';

/** Kubernetes object names (Secrets, pods): RFC 1123 subdomain, at most 253 characters. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_NAME = 253;
/** Label values: at most 63 characters, alphanumeric at both ends, `-_.` inside. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MAX_LABEL_VALUE = 63;
const HASH_LENGTH = 8;
const SUFFIX_PATTERN = new RegExp(`^[${GENERATE_NAME_ALPHABET}]{${SECRET_NAME_RANDOM_LENGTH}}$`);
/** Names recorded by releases before the random part grew to SECRET_NAME_RANDOM_LENGTH (read, never made). */
const LEGACY_SUFFIX_PATTERN = new RegExp(`^[${GENERATE_NAME_ALPHABET}]{${GENERATE_NAME_SUFFIX_LENGTH}}$`);

/** True when `name` is a valid Kubernetes object name (DNS-1123 subdomain, ≤ 253). */
export function isDns1123Subdomain(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME && DNS1123_SUBDOMAIN.test(name);
}

/** True when `suffix` is a random part the webhook draws: SECRET_NAME_RANDOM_LENGTH characters of the alphabet. */
function isSecretSuffix(suffix: string): boolean {
  return SUFFIX_PATTERN.test(suffix);
}

/** FNV-1a (32 bit) as 8 hex digits: a short, stable, dependency-free fingerprint for truncated names. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(HASH_LENGTH, '0');
}

function trimEnd(text: string): string {
  return text.replace(/[-.]+$/, '');
}

/**
 * The Secret of a pod that has a name: `<name>-mtls`. Names too long for the suffix (over 248 characters) are
 * cut and given a hash of the full name, so two long names never share a Secret and the result stays a
 * DNS-1123 subdomain of at most 253 characters with no '-' or '.' before `-mtls`.
 */
export function secretNameForPodName(name: string): string {
  const room = MAX_NAME - SECRET_NAME_SUFFIX.length;
  if (name.length <= room) return `${trimEnd(name)}${SECRET_NAME_SUFFIX}`;
  const cut = trimEnd(name.slice(0, room - HASH_LENGTH - 1));
  return `${cut}-${shortHash(name)}${SECRET_NAME_SUFFIX}`;
}

/**
 * The Secret of a pod created with only `generateName`: `<generateName><suffix>-mtls`, with `suffix`
 * SECRET_NAME_RANDOM_LENGTH characters of Kubernetes' name alphabet drawn by the caller (core draws no
 * randomness). The pod's own name is drawn later by the API server, independently, so the suffix alone must
 * keep two pods of one generateName apart. The generateName is cut to keep the result ≤ 253; the suffix
 * always ends the base with a letter or digit.
 * Throws RangeError when the suffix is not from the alphabet (a programming error, not an input problem).
 */
export function secretNameForGenerateName(generateName: string, suffix: string): string {
  if (!isSecretSuffix(suffix)) {
    throw new RangeError(
      `secret name suffix ${JSON.stringify(suffix)}: expected ${SECRET_NAME_RANDOM_LENGTH} characters of ${GENERATE_NAME_ALPHABET}`,
    );
  }
  const room = MAX_NAME - SECRET_NAME_SUFFIX.length - SECRET_NAME_RANDOM_LENGTH;
  return `${generateName.slice(0, room)}${suffix}${SECRET_NAME_SUFFIX}`;
}

/**
 * True when `recorded` is a Secret name this pod could have been given: `<name>-mtls`, or
 * `<generateName><suffix>-mtls` for some suffix of the name alphabet (of today's length, or the 5 characters of
 * earlier releases). Used on reinvocation to keep the name the first pass chose. It only narrows what an
 * annotation may say: a pod's author can still name a sibling's Secret, which is why the rotator never hands
 * a Secret owned by another live pod to a second one.
 */
export function isSecretNameOfPod(
  recorded: string,
  meta: { readonly name?: string | null | undefined; readonly generateName?: string | null | undefined },
): boolean {
  if (!isDns1123Subdomain(recorded)) return false;
  if (meta.name != null && meta.name !== '' && recorded === secretNameForPodName(meta.name)) return true;
  if (meta.generateName == null || meta.generateName === '') return false;
  const end = recorded.length - SECRET_NAME_SUFFIX.length;
  const suffix = recorded.slice(end - SECRET_NAME_RANDOM_LENGTH, end);
  if (isSecretSuffix(suffix) && recorded === secretNameForGenerateName(meta.generateName, suffix))
    return true;
  const legacy = recorded.slice(end - GENERATE_NAME_SUFFIX_LENGTH, end);
  const room = MAX_NAME - SECRET_NAME_SUFFIX.length - GENERATE_NAME_SUFFIX_LENGTH;
  return (
    LEGACY_SUFFIX_PATTERN.test(legacy) &&
    recorded === `${meta.generateName.slice(0, room)}${legacy}${SECRET_NAME_SUFFIX}`
  );
}

/**
 * A label value for any text (e.g. the `mtls-injector.io/pod` label on a Secret): the text itself when it is a
 * valid label value, otherwise a cut of it plus a hash, at most 63 characters.
 */
export function labelValue(text: string): string {
  if (text.length <= MAX_LABEL_VALUE && LABEL_VALUE.test(text)) return text;
  const cut = text
    .slice(0, MAX_LABEL_VALUE - HASH_LENGTH - 1)
    .replace(/[^-A-Za-z0-9_.]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/[^A-Za-z0-9]+$/, '');
  return cut === '' ? shortHash(text) : `${cut}-${shortHash(text)}`;
}
