// Network profiles (runbook §3.1, design doc §6) and the environment each
// belongs to. The full NodeConfig lives beside this file.

import { QbindError } from '../errors.ts';
import type { NetworkEnvironment } from '../preimage/chain-id.ts';

export type ProfileName = 'devnet-v0' | 'testnet-alpha' | 'testnet-beta' | 'mainnet';
export const PROFILE_NAMES: readonly ProfileName[] = ['devnet-v0', 'testnet-alpha', 'testnet-beta', 'mainnet'];

const ENVIRONMENT: Record<ProfileName, NetworkEnvironment> = {
  'devnet-v0': 'devnet',
  'testnet-alpha': 'testnet',
  'testnet-beta': 'testnet',
  mainnet: 'mainnet',
};

export function environmentOf(profile: ProfileName): NetworkEnvironment {
  return ENVIRONMENT[profile];
}

/** Accepts the profile names and the short forms devnet, alpha, beta. */
export function parseProfileName(text: string): ProfileName {
  const t = text.trim().toLowerCase();
  const alias: Record<string, ProfileName> = { devnet: 'devnet-v0', alpha: 'testnet-alpha', beta: 'testnet-beta', 'mainnet-v0': 'mainnet' };
  const name = (PROFILE_NAMES as readonly string[]).includes(t) ? (t as ProfileName) : alias[t];
  if (!name) throw new QbindError('BAD_PROFILE', `unknown network profile '${text}' (known: ${PROFILE_NAMES.join(', ')})`);
  return name;
}
