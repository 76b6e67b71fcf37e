// Chain ids carried in every preimage: an unsigned 64-bit integer, big-endian
// on the wire. The well-known ids spell eight ASCII characters so that they
// are readable in a hex dump. See docs/preimages.md.

import { QbindError } from '../errors.ts';

function ascii8(s: string): bigint {
  return Buffer.from(s, 'ascii').readBigUInt64BE(0);
}

export const QBIND_DEVNET_CHAIN_ID = ascii8('QBINDDEV');
export const QBIND_TESTNET_CHAIN_ID = ascii8('QBINDTST');
export const QBIND_MAINNET_CHAIN_ID = ascii8('QBINDMNT');

export type NetworkEnvironment = 'devnet' | 'testnet' | 'mainnet';

const BY_ENV: Record<NetworkEnvironment, bigint> = {
  devnet: QBIND_DEVNET_CHAIN_ID,
  testnet: QBIND_TESTNET_CHAIN_ID,
  mainnet: QBIND_MAINNET_CHAIN_ID,
};

export function chainIdFor(env: NetworkEnvironment): bigint {
  return BY_ENV[env];
}

/** Formats a chain id as 0x-prefixed 16 hex digits. */
export function formatChainId(id: bigint): string {
  return '0x' + id.toString(16).padStart(16, '0');
}

/**
 * Parses a chain id written as a decimal or 0x-hex u64, or as one of the
 * names devnet, testnet, mainnet.
 */
export function parseChainId(text: string): bigint {
  const t = text.trim().toLowerCase();
  if (t in BY_ENV) return BY_ENV[t as NetworkEnvironment];
  if (/^(0x[0-9a-f]{1,16}|[0-9]{1,20})$/.test(t)) {
    const v = BigInt(t);
    if (v < 1n << 64n) return v;
  }
  throw new QbindError('BAD_CHAIN_ID', `invalid chain id '${text}': expected devnet, testnet, mainnet, a decimal or a 0x-hex 64-bit number`);
}
