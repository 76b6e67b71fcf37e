// The checks of --validate-only that need the outside world (design doc §3.3,
// §6.5, §6.6): 17 the keystore folder, its permissions and unlocking it;
// 18 a KEMTLS handshake with the remote signer (its pinned key, this node's
// identity; no signing request); 19 the HSM token, login and key. Each runs as far as this build allows: a part that cannot run (backend
// not in this build, passphrase not in this environment) makes the check
// 'not-checked' with the reason, never 'passed'. Secrets are read only to
// unlock and are never put in a result.

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import { errorMessage, isQbindError } from '../errors.ts';
import { SignerMode } from '../signer/validator-signer.ts';
import { BACKEND_NAMES, type SignerBackends } from './backends.ts';
import { targetNetwork, type ConfigWarning, type Violation } from './invariants.ts';
import { chainIdOf, DEFAULT_CHECK_TIMEOUT_MS, usesKeystore, type NodeConfig } from './node-config.ts';
import { remoteSignerEndpoint } from './values.ts';
import { configuredPassphrase } from './passphrase.ts';

export type CheckStatus = 'passed' | 'failed' | 'not-checked' | 'not-applicable';

export interface CheckResult {
  /** Invariant number ('1'-'19'). */
  id: string;
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface OutsideCheckResult {
  checks: CheckResult[];
  violations: Violation[];
  warnings: ConfigWarning[];
}

export interface OutsideCheckOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  backends: SignerBackends;
}

/** Opens a TCP connection and closes it: resolves when the port accepts, rejects with the reason otherwise. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(err.code ?? err.message));
    });
  });
}

/** Races `p` against a timer; a result that arrives after the timeout is closed, not leaked. */
function withTimeout<T extends { close(): Promise<void> }>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`${what}: no answer within ${ms} ms`));
    }, ms);
  });
  p.then((late) => (timedOut ? late.close() : undefined)).catch(() => undefined);
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const KEYSTORE = { id: '17', name: 'keystore usable (folder, permissions 0700/0600, unlock)' };
const REMOTE = { id: '18', name: 'remote signer reachable' };
const HSM = { id: '19', name: 'HSM accessible (token, login, key)' };

async function checkKeystore(config: NodeConfig, o: Required<OutsideCheckOptions>, out: OutsideCheckResult): Promise<void> {
  const dir = config.signer.keystorePath;
  const fail = (found: string, fix: string): void => {
    out.violations.push({ invariant: 17, name: KEYSTORE.name, setting: 'signer.keystore_path', found, expected: 'a keystore folder the node can unlock', fix });
  };
  const done = (): void => {
    const mine = out.violations.filter((v) => v.invariant === 17);
    if (mine.length > 0) out.checks.push({ ...KEYSTORE, status: 'failed', detail: mine.map((v) => v.found).join('; ') });
  };
  if (dir === null) {
    out.checks.push({ ...KEYSTORE, status: 'not-checked', detail: 'no keystore path (invariant 16)' });
    return;
  }
  const keystore = o.backends.keystore;
  if (!keystore) {
    out.checks.push({ ...KEYSTORE, status: 'not-checked', detail: `${BACKEND_NAMES.keystore} is not in this build` });
    return;
  }
  const profile = targetNetwork(config);
  const validatorId = config.validatorId ?? undefined;
  // The keystore's own policy: folder 0700, key files 0600 (refused on testnet-beta and mainnet), formats, validator.
  const problems = keystore.scan(dir, { profile, ...(validatorId !== undefined ? { validatorId } : {}) });
  for (const p of problems.filter((x) => x.severity === 'error')) {
    fail(p.message, p.code.includes('PERMISSIONS') ? `chmod 700 ${dir} && chmod 600 ${dir}/*.key` : 'fix the keystore (qbind-keygen inspect --keystore DIR lists its problems) or point signer.keystore_path at the right one');
  }
  for (const p of problems.filter((x) => x.severity === 'warning')) out.warnings.push({ code: 'W3', setting: 'signer.keystore_path', message: p.message });
  if (out.violations.some((v) => v.invariant === 17)) return done();

  const s = config.signer;
  let passphrase: string | null;
  try {
    passphrase = configuredPassphrase(config, keystore, o.env, profile);
    if (passphrase === null && s.mode !== SignerMode.LoopbackTesting) {
      out.checks.push({ ...KEYSTORE, status: 'not-checked', detail: `folder and key files ok; unlock not checked: ${s.keystorePassphraseEnv} is not set in this environment` });
      return;
    }
  } catch (err) {
    fail(`passphrase: ${errorMessage(err)}`, `provide the passphrase in ${s.keystorePassphraseEnv} or signer.keystore_passphrase_file`);
    return done();
  }
  try {
    const unlocked = await keystore.openConsensusKey(dir, { passphrase, profile, ...(validatorId !== undefined ? { validatorId } : {}), onWarning: () => undefined });
    unlocked.close();
  } catch (err) {
    fail(`cannot unlock ${dir}: ${errorMessage(err)}`, 'check the passphrase and the keystore (qbind-keygen verify --keystore DIR --passphrase-env VAR)');
    return done();
  }
  out.checks.push({ ...KEYSTORE, status: 'passed', detail: 'folder and key files ok; consensus key unlocked' });
}

async function checkRemote(config: NodeConfig, o: Required<OutsideCheckOptions>, out: OutsideCheckResult): Promise<void> {
  const s = config.signer;
  const url = s.remoteSignerUrl;
  if (url === null) {
    out.checks.push({ ...REMOTE, status: 'not-checked', detail: 'remote signer url not set (invariant 16)' });
    return;
  }
  const fail = (found: string, fix: string): void => {
    out.violations.push({ invariant: 18, name: REMOTE.name, setting: 'signer.remote_signer_url', found, expected: 'a qbind-remote-signer that completes the KEMTLS handshake', fix });
    out.checks.push({ ...REMOTE, status: 'failed', detail: found });
  };
  const START = 'start qbind-remote-signer there (systemctl status qbind-remote-signer) or point signer.remote_signer_url at a running one (runbook §10.2)';
  const keystore = o.backends.keystore;
  const remote = o.backends.remote;
  const profile = targetNetwork(config);

  // Without everything the handshake needs, only TCP reachability can be checked.
  const tcpOnly = async (why: string): Promise<void> => {
    const { host, port } = remoteSignerEndpoint(url);
    try {
      await probeTcp(host, port, o.timeoutMs);
    } catch (err) {
      return fail(`${url}: unreachable (${errorMessage(err)})`, START);
    }
    out.checks.push({ ...REMOTE, status: 'not-checked', detail: `${url}: TCP connection accepted; KEMTLS handshake and signer key not checked: ${why}` });
  };
  if (!remote) return tcpOnly(`${BACKEND_NAMES.remote} is not in this build`);
  if (!keystore) return tcpOnly(`${BACKEND_NAMES.keystore}, which holds this node's identity key, is not in this build`);
  if (s.remoteSignerPublicKeyPath === null || s.identityKeystorePath === null) return tcpOnly('signer public key path or identity keystore not set (invariant 16)');

  let signerPublicKey: Uint8Array;
  try {
    signerPublicKey = keystore.readIdentityPublicKey(s.remoteSignerPublicKeyPath);
  } catch (err) {
    return fail(`signer public key: ${errorMessage(err)}`, "set signer.remote_signer_public_key_path to the signer's p2p_identity.pub");
  }
  let passphrase: string | null;
  try {
    passphrase = configuredPassphrase(config, keystore, o.env, profile);
  } catch (err) {
    return fail(`passphrase of the identity keystore: ${errorMessage(err)}`, `provide the passphrase in ${s.keystorePassphraseEnv} or signer.keystore_passphrase_file`);
  }
  if (passphrase === null && profile !== 'devnet-v0') {
    return tcpOnly(`${s.keystorePassphraseEnv} (the passphrase of this node's identity keystore) is not set in this environment`);
  }
  let identity;
  try {
    identity = await keystore.openIdentityKey(s.identityKeystorePath, { passphrase, profile, ...(config.validatorId !== null ? { validatorId: config.validatorId } : {}), onWarning: () => undefined });
  } catch (err) {
    return fail(`identity keystore ${s.identityKeystorePath}: ${errorMessage(err)}`, "point signer.identity_keystore_path at the keystore holding this node's p2p_identity.key (qbind-keygen generate --key-role p2p-identity)");
  }
  try {
    const fingerprint = await remote.probe({ url, signerPublicKey, identity, timeoutMs: o.timeoutMs });
    out.checks.push({ ...REMOTE, status: 'passed', detail: `${url}: KEMTLS handshake ok, signer key ${fingerprint}, this node's identity accepted` });
  } catch (err) {
    const code = isQbindError(err) ? err.code : '';
    if (code === 'CONNECT_FAILED' || code === 'HANDSHAKE_TIMEOUT') return fail(`${url}: unreachable (${errorMessage(err)})`, START);
    return fail(`${url}: KEMTLS handshake failed: ${errorMessage(err)}`, "check that signer.remote_signer_public_key_path is the signer's p2p_identity.pub and that the signer's authorized_clients lists this node's p2p_identity.pub");
  }
}

async function checkHsm(config: NodeConfig, o: Required<OutsideCheckOptions>, out: OutsideCheckResult): Promise<void> {
  const path = config.signer.hsmConfigPath;
  if (path === null || config.validatorId === null) {
    out.checks.push({ ...HSM, status: 'not-checked', detail: 'hsm config path or validator id not set (invariant 16)' });
    return;
  }
  const fail = (found: string): void => {
    out.violations.push({
      invariant: 19, name: HSM.name, setting: 'signer.hsm_config_path', found, expected: 'the token, PIN and key of hsm.toml usable',
      fix: 'check hsm.toml (qbind-hsm status), the PIN variable it names, and the token (runbook §10.3)',
    });
    out.checks.push({ ...HSM, status: 'failed', detail: found });
  };
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    return fail(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not readable'}`);
  }
  if (!o.backends.hsm) {
    out.checks.push({ ...HSM, status: 'not-checked', detail: `${path} readable; token, login and key not checked: ${BACKEND_NAMES.hsm} is not in this build` });
    return;
  }
  try {
    const signer = await withTimeout(o.backends.hsm.createSigner({ configPath: path, validatorId: config.validatorId, chainId: chainIdOf(config), env: o.env }), o.timeoutMs, path);
    await signer.close();
  } catch (err) {
    if (isQbindError(err, 'HSM_PIN_MISSING')) {
      out.checks.push({ ...HSM, status: 'not-checked', detail: `${path} readable; token, login and key not checked: ${errorMessage(err)}` });
      return;
    }
    return fail(`${path}: ${errorMessage(err)}`);
  }
  out.checks.push({ ...HSM, status: 'passed', detail: `${path}: token, login and key ok` });
}

/** Checks 17-19 for the config's signer mode; the others come back 'not-applicable'. */
export async function runOutsideChecks(config: NodeConfig, options: OutsideCheckOptions): Promise<OutsideCheckResult> {
  const o: Required<OutsideCheckOptions> = { env: process.env, timeoutMs: DEFAULT_CHECK_TIMEOUT_MS, ...options };
  const out: OutsideCheckResult = { checks: [], violations: [], warnings: [] };
  const na = (c: { id: string; name: string }): void => {
    out.checks.push({ ...c, status: 'not-applicable', detail: `signer mode ${config.signer.mode ?? 'not set'}` });
  };
  if (usesKeystore(config)) await checkKeystore(config, o, out);
  else na(KEYSTORE);
  if (config.signer.mode === SignerMode.RemoteSigner) await checkRemote(config, o, out);
  else na(REMOTE);
  if (config.signer.mode === SignerMode.HsmPkcs11) await checkHsm(config, o, out);
  else na(HSM);
  return out;
}
