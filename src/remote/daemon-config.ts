// remote_signer.toml (runbook §4.1 step 3, §4.2; docs/remote-signer.md): the
// qbind-remote-signer daemon's configuration. Parsing collects every problem
// and reports them together, so an operator fixes a config in one pass.
// Relative paths are resolved against the config file's folder.

import { resolve } from 'node:path';
import type { ProfileName } from '../config/profiles.ts';
import { readPublicKeyFile } from '../keystore/public-key-file.ts';
import { publicKeyFingerprint } from '../crypto/fingerprint.ts';
import { ML_KEM_768 } from '../crypto/suites.ts';
import { errorMessage } from '../errors.ts';
import { RemoteConfigError } from './remote-error.ts';
import { isTable, passphraseFields, profileAndChain, readTomlTable, type Fields, type Table } from './toml-fields.ts';
import { parseListenAddr, type SignerAddress } from './signer-url.ts';

export type BackendMode = 'encrypted-fs' | 'hsm-pkcs11';

export interface ValidatorEntry {
  validatorId: bigint;
  /** encrypted-fs: the validator's keystore folder. */
  keystorePath: string | null;
  /** hsm-pkcs11: the key label in hsm.toml to use (default: the config's key). */
  keyLabel: string | null;
}

export interface AuthorizedClient {
  name: string;
  publicKey: Uint8Array;
  fingerprint: string;
  validators: ReadonlySet<bigint>;
}

export interface RemoteSignerConfig {
  source: string;
  listen: SignerAddress;
  profile: ProfileName;
  chainId: bigint;
  backendMode: BackendMode;
  hsmConfigPath: string | null;
  validators: ValidatorEntry[];
  rateLimitRps: number;
  passphraseEnv: string | null;
  passphraseFile: string | null;
  identityKeystorePath: string;
  clients: AuthorizedClient[];
  protectionStore: string;
  auditLogPath: string;
  metricsEnabled: boolean;
  handshakeTimeoutMs: number;
  maxConnections: number;
}

const TOP_KEYS = new Set([
  'listen_addr', 'validator_id', 'backend_mode', 'hsm_config_path', 'rate_limit_rps', 'profile', 'chain_id', 'keystore_path',
  'passphrase_env', 'passphrase_file', 'identity_keystore_path', 'protection_store', 'audit_log_path', 'metrics_enabled',
  'handshake_timeout_ms', 'max_connections', 'validators', 'authorized_clients',
]);

function parseValidators(top: Table, f: Fields, backend: BackendMode | null): ValidatorEntry[] {
  const out: ValidatorEntry[] = [];
  const topId = top.validator_id === undefined ? null : f.validatorId(top.validator_id, 'validator_id');
  if (topId !== null) out.push({ validatorId: topId, keystorePath: f.path(top, 'keystore_path', ''), keyLabel: null });
  else if (top.keystore_path !== undefined && top.validators === undefined) f.problems.push('keystore_path is set but validator_id is not');
  const list = top.validators;
  if (list !== undefined) {
    if (!Array.isArray(list)) f.problems.push('validators must be an array of tables ([[validators]])');
    else
      list.forEach((entry, i) => {
        const where = `validators[${i}].`;
        if (!isTable(entry)) return void f.problems.push(`${where.slice(0, -1)} must be a table`);
        f.unknownKeys(entry, new Set(['validator_id', 'keystore_path', 'key_label']), where);
        const id = entry.validator_id === undefined ? (f.problems.push(`${where}validator_id is required`), null) : f.validatorId(entry.validator_id, `${where}validator_id`);
        if (id === null) return;
        if (out.some((v) => v.validatorId === id)) return void f.problems.push(`${where}validator_id ${id} is listed twice`);
        out.push({ validatorId: id, keystorePath: f.path(entry, 'keystore_path', where) ?? (topId === null ? f.path(top, 'keystore_path', '') : null), keyLabel: f.str(entry, 'key_label', where) });
      });
  }
  if (out.length === 0 && topId === null) f.problems.push('no validator: set validator_id (one validator) or [[validators]] tables');
  if (backend === 'encrypted-fs') {
    for (const v of out) if (!v.keystorePath) f.problems.push(`validator ${v.validatorId}: backend_mode encrypted-fs needs keystore_path`);
  }
  return out;
}

function parseClients(top: Table, f: Fields, served: ReadonlySet<bigint>): AuthorizedClient[] {
  const list = top.authorized_clients;
  if (list === undefined) {
    f.problems.push('no [[authorized_clients]]: list each node allowed to connect (name, public_key_path, validators)');
    return [];
  }
  if (!Array.isArray(list)) {
    f.problems.push('authorized_clients must be an array of tables ([[authorized_clients]])');
    return [];
  }
  const out: AuthorizedClient[] = [];
  list.forEach((entry, i) => {
    const where = `authorized_clients[${i}].`;
    if (!isTable(entry)) return void f.problems.push(`${where.slice(0, -1)} must be a table`);
    f.unknownKeys(entry, new Set(['name', 'public_key_path', 'public_key', 'validators']), where);
    const name = f.str(entry, 'name', where) ?? `client-${i}`;
    if (entry.name === undefined) f.problems.push(`${where}name is required`);
    let publicKey: Uint8Array | null = null;
    const keyPath = f.path(entry, 'public_key_path', where);
    const keyHex = f.str(entry, 'public_key', where);
    if ((keyPath === null) === (keyHex === null)) f.problems.push(`${where}give exactly one of public_key_path (a p2p_identity.pub file) or public_key (hex)`);
    else if (keyPath !== null) {
      try {
        const info = readPublicKeyFile(keyPath);
        if (info.role !== 'p2p-identity') f.problems.push(`${where}public_key_path ${keyPath} is a ${info.role} key; a client authenticates with its p2p-identity (ML-KEM-768) key`);
        else publicKey = info.publicKey;
      } catch (err) {
        f.problems.push(`${where}public_key_path: ${errorMessage(err)}`);
      }
    } else if (keyHex !== null) {
      const hex = keyHex.replace(/^0x/i, '');
      if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== ML_KEM_768.publicKeyBytes * 2) f.problems.push(`${where}public_key must be ${ML_KEM_768.publicKeyBytes} bytes of hex`);
      else publicKey = Buffer.from(hex, 'hex');
    }
    const vals = entry.validators;
    const ids = new Set<bigint>();
    if (!Array.isArray(vals) || vals.length === 0) f.problems.push(`${where}validators must list the validator ids this client may sign for, e.g. [42]`);
    else
      for (const v of vals) {
        const id = f.validatorId(v, `${where}validators`);
        if (id === null) continue;
        if (!served.has(id)) f.problems.push(`${where}validators names ${id}, which this signer does not serve`);
        ids.add(id);
      }
    if (publicKey) {
      const fingerprint = publicKeyFingerprint(publicKey);
      if (out.some((c) => c.fingerprint === fingerprint)) f.problems.push(`${where}public key ${fingerprint} is already listed for another client`);
      out.push({ name, publicKey, fingerprint, validators: ids });
    }
  });
  return out;
}

/** A relative SQLite path is taken from the config's folder; URLs are kept as they are. */
function resolveStoreLocation(text: string | null, baseDir: string): string {
  if (text === null) return resolve(baseDir, 'signer-protection.sqlite');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  if (/^sqlite:/i.test(text)) return 'sqlite:' + resolve(baseDir, text.slice('sqlite:'.length));
  return resolve(baseDir, text);
}

/** Parses remote_signer.toml text; throws RemoteConfigError listing every problem. */
export function parseRemoteSignerConfig(text: string, source: string): RemoteSignerConfig {
  const { top, fields } = readTomlTable(source, text);
  return buildConfig(top, fields, source);
}

function buildConfig(top: Table, f: Fields, source: string): RemoteSignerConfig {
  f.unknownKeys(top, TOP_KEYS, '');
  let listen: SignerAddress = { host: '0.0.0.0', port: 9443 };
  const listenText = f.str(top, 'listen_addr', '');
  if (listenText !== null) {
    try {
      listen = parseListenAddr(listenText);
    } catch (err) {
      f.problems.push(`listen_addr: ${errorMessage(err)}`);
    }
  }
  const { profile, chainId } = profileAndChain(top, f);
  const mode = f.str(top, 'backend_mode', '');
  let backendMode: BackendMode | null = null;
  if (mode === null) f.problems.push('backend_mode is required: "encrypted-fs" or "hsm-pkcs11"');
  else if (mode === 'encrypted-fs' || mode === 'hsm-pkcs11') backendMode = mode;
  else f.problems.push(`backend_mode must be "encrypted-fs" or "hsm-pkcs11", got "${mode}"`);
  const hsmConfigPath = f.path(top, 'hsm_config_path', '');
  if (backendMode === 'hsm-pkcs11' && hsmConfigPath === null) f.problems.push('backend_mode hsm-pkcs11 needs hsm_config_path');
  const validators = parseValidators(top, f, backendMode);
  const { passphraseEnv, passphraseFile } = passphraseFields(top, f);
  const identityKeystorePath = f.path(top, 'identity_keystore_path', '');
  if (identityKeystorePath === null) f.problems.push("identity_keystore_path is required: a keystore folder holding the signer's own p2p_identity.key (qbind-keygen generate --key-role p2p-identity)");
  if (passphraseEnv === null && passphraseFile === null && (backendMode === 'encrypted-fs' || identityKeystorePath !== null)) {
    f.problems.push('passphrase_env or passphrase_file is required to unlock the keystores');
  }
  const clients = parseClients(top, f, new Set(validators.map((v) => v.validatorId)));
  const baseDir = f.baseDir;
  const config = {
    source,
    listen,
    profile,
    chainId,
    backendMode: backendMode ?? 'encrypted-fs',
    hsmConfigPath,
    validators,
    rateLimitRps: f.int(top, 'rate_limit_rps', '', 0, 1_000_000) ?? 100,
    passphraseEnv,
    passphraseFile,
    identityKeystorePath: identityKeystorePath ?? '',
    clients,
    protectionStore: resolveStoreLocation(f.str(top, 'protection_store', ''), baseDir),
    auditLogPath: f.path(top, 'audit_log_path', '') ?? resolve(baseDir, 'signer-audit.log'),
    metricsEnabled: true,
    handshakeTimeoutMs: f.int(top, 'handshake_timeout_ms', '', 100, 600_000) ?? 10_000,
    maxConnections: f.int(top, 'max_connections', '', 1, 100_000) ?? 1024,
  };
  if (top.metrics_enabled !== undefined) {
    if (typeof top.metrics_enabled === 'boolean') config.metricsEnabled = top.metrics_enabled;
    else f.problems.push('metrics_enabled must be true or false');
  }
  if (f.problems.length > 0) throw new RemoteConfigError(source, f.problems);
  return config;
}

export function loadRemoteSignerConfig(path: string): RemoteSignerConfig {
  const { top, fields } = readTomlTable(path);
  return buildConfig(top, fields, path);
}
