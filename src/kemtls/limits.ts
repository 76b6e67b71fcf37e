// Defaults and validation of the numeric options both ends take.

import { KemtlsError } from './kemtls-error.ts';
import { AEAD_TAG_BYTES } from './wire.ts';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Largest record body (message + tag) by default: 64 KiB, far above a sign request or response. */
export const DEFAULT_MAX_FRAME_BYTES = 65_536;
/** A frame must at least hold the tag of an empty message. */
export const MIN_FRAME_BYTES = AEAD_TAG_BYTES;
/** Upper bound for maxFrameBytes: 16 MiB. */
export const MAX_FRAME_BYTES_LIMIT = 16 * 1024 * 1024;

/** `value` if it is an integer in [min, max], `fallback` if undefined; BAD_OPTIONS otherwise. */
export function checkLimit(name: string, value: number | undefined, fallback: number, min: number, max = name === 'maxFrameBytes' ? MAX_FRAME_BYTES_LIMIT : 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new KemtlsError('BAD_OPTIONS', `${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}
