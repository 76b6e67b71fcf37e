// Text qbind-node prints: --help (generated from the settings table),
// --print-config (the effective configuration as a node.toml), and what this
// package provides when asked to run a node.

import { stringify } from 'smol-toml';
import type { NodeConfig } from './node-config.ts';
import { SETTINGS, TOML_SECTIONS } from './settings.ts';

export function nodeUsage(): string {
  const rows = SETTINGS.map((s) => `  ${s.flags.join(', ').padEnd(52)} ${s.help}`);
  return [
    'usage: qbind-node [--profile NAME] [--config node.toml] [settings...] --validate-only [--output text|json] [--strict]',
    '       qbind-node [--profile NAME] [--config node.toml] [settings...] --print-config',
    '',
    'Checks a QBIND node configuration against the network profile and validate_mainnet_invariants',
    '(runbook §3.2) and checks that its validator signer is usable. Exit codes: 0 valid, 1 an',
    'invariant is violated, 2 usage or configuration error.',
    '',
    'command options:',
    '  --profile devnet-v0|testnet-alpha|testnet-beta|mainnet   base profile (default: from --env, else devnet-v0)',
    '  --config PATH                 node.toml (default $QBIND_NODE_CONFIG, else /etc/qbind/node.toml if present)',
    '  --validate-only               run every check and exit with its verdict',
    '  --output text|json            report format (default text)',
    '  --strict                      a check that could not run counts as a failure',
    '  --check-timeout-ms N          time limit of each signer check (default 10000)',
    '  --print-config                print the effective configuration as node.toml',
    '  --help                        this text',
    '',
    'settings (precedence: profile defaults, then node.toml, then flags; values as `--flag value` or `--flag=value`):',
    ...rows,
    '',
  ].join('\n');
}

export const NOT_A_NODE = [
  'qbind-node (qbind-signer): this package does not run a QBIND consensus node.',
  'It provides the node-side key management pieces: configuration profiles and validate_mainnet_invariants,',
  'the validator signers (loopback, EncryptedFsV1 keystore, remote signer over KEMTLS, PKCS#11 HSM) and their checks.',
  '',
  'To check this configuration, as the runbook does before an upgrade (§11.2):',
  '  qbind-node --profile mainnet --validate-only --data-dir /data/qbind',
  'To see the effective configuration: add --print-config. For all flags: --help.',
  '',
].join('\n');

/** The effective configuration as node.toml text (unset values left out); reading it back gives the same config. */
export function nodeConfigToToml(config: NodeConfig): string {
  const doc: Record<string, unknown> = { profile: config.profile };
  for (const section of TOML_SECTIONS) doc[section] = {};
  for (const s of SETTINGS) {
    const v = s.get(config);
    if (v === null) continue;
    const [a, b] = s.key.split('.') as [string, string | undefined];
    if (b === undefined) doc[a] = v;
    else (doc[a] as Record<string, unknown>)[b] = v;
  }
  return stringify(doc) + '\n';
}
