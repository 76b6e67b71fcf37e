// qbind-hsm: set up and inspect HSM signing over PKCS#11 (seed 003 AC-6;
// design doc §3.5; runbook §4.1 option B, §10.3): init, keygen, list, status,
// migrate, backup. A thin shell over src/hsm; the PIN comes only from the
// environment variable hsm.toml names. Exit codes: 0 success, 1 an HSM, key
// or file problem, 2 bad usage. See docs/hsm.md.

import { runCli } from './run-cli.ts';
import { Command, Option } from 'commander';
import { parseProfileName } from '../config/profiles.ts';
import { errorMessage, QbindError } from '../errors.ts';
import { backupToken } from '../hsm/backup.ts';
import { loadHsmConfig, parseMechanism, signingKeyOf } from '../hsm/config.ts';
import { connectHsm } from '../hsm/hsm-signer.ts';
import { initHsmConfig } from '../hsm/init-config.ts';
import { parseKeyType, type HsmKeyType } from '../hsm/key-types.ts';
import { migrateKeystoreKey } from '../hsm/migrate.ts';
import type { HsmKeyInfo, Pkcs11Provider } from '../hsm/provider.ts';
import { hsmStatus, statusText } from '../hsm/status.ts';
import { parseKeyRole, readPassphrase } from '../keystore/index.ts';
import { createLogger } from '../log/logger.ts';
import { isEnvVarName } from '../config/env-var-name.ts';
import { parseU64Decimal } from '../preimage/u64.ts';

const NAME = 'qbind-hsm';
const DEFAULT_CONFIG = '/etc/qbind/hsm.toml';
const USAGE_CODES = new Set(['USAGE', 'BAD_PROFILE', 'BAD_KEY_ROLE', 'PASSPHRASE_SOURCE']);

const out = (s: string): void => void process.stdout.write(s);
const err = (s: string): void => void process.stderr.write(s);
// Progress lines (connected, key generated) at info only when QBIND_LOG_LEVEL asks; results go to stdout.
const logger = createLogger(process.env.QBIND_LOG_LEVEL ? {} : { level: 'warn' });

function usage(message: string): QbindError {
  return new QbindError('USAGE', message);
}

function format(text: string | undefined): 'text' | 'json' {
  if (text === undefined || text === 'text') return 'text';
  if (text === 'json') return 'json';
  throw usage(`--output must be 'text' or 'json', got '${text}'`);
}

function keyTypeArg(text: string | undefined): HsmKeyType | undefined {
  if (text === undefined) return undefined;
  try {
    return parseKeyType(text);
  } catch (e) {
    throw usage(`--key-type: ${errorMessage(e)}`);
  }
}

function intArg(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) throw usage(`${name} must be a non-negative integer, got '${text}'`);
  return Number(text);
}

function keyJson(k: HsmKeyInfo): Record<string, string | boolean | null> {
  return { label: k.label, id: k.id, key_type: k.keyType, fingerprint: k.fingerprint, public_key: k.publicKey?.toString('base64') ?? null, sensitive: k.sensitive, extractable: k.extractable, local: k.local };
}

function keyText(k: HsmKeyInfo, indent = '  '): string {
  const attrs = [k.sensitive ? 'sensitive' : 'NOT SENSITIVE', k.extractable ? 'EXTRACTABLE' : 'never extractable', k.local ? 'generated on token' : 'imported'];
  return [
    `${indent}id           ${k.id || '(none)'}`,
    `${indent}key type     ${k.keyType ?? `unsupported (CKA_KEY_TYPE 0x${k.ckk.toString(16)})`}`,
    `${indent}fingerprint  ${k.fingerprint ?? '(no public key object)'}`,
    `${indent}attributes   ${attrs.join(', ')}`,
    `${indent}public key   ${k.publicKey?.toString('base64') ?? '-'}`,
  ].join('\n') + '\n';
}

async function withProvider<T>(configPath: string, fn: (p: Pkcs11Provider) => Promise<T>): Promise<T> {
  const config = loadHsmConfig(configPath);
  const provider = await connectHsm(config, { logger, sessions: 1 });
  try {
    return await fn(provider);
  } finally {
    await provider.close();
  }
}

interface InitOptions {
  backend: string;
  library: string;
  tokenLabel?: string;
  slot?: string;
  keyLabel: string;
  pinEnv: string;
  config: string;
  keyType?: string;
  mechanism?: string;
  force?: boolean;
  output?: string;
}

async function runInit(o: InitOptions): Promise<number> {
  const fmt = format(o.output);
  if (o.backend !== 'pkcs11') throw usage(`--backend ${o.backend} is not supported: qbind-hsm drives PKCS#11 tokens only (cloud HSMs through their PKCS#11 libraries)`);
  const slotId = intArg('--slot', o.slot);
  if (o.tokenLabel === undefined && slotId === undefined) throw usage('name the token: --token-label LABEL (or --slot N)');
  if (!isEnvVarName(o.pinEnv)) throw usage('--pin-env takes the NAME of an environment variable (letters, digits, _); the value given is not shown, in case it is the PIN itself');
  let mechanism: number | undefined;
  try {
    mechanism = o.mechanism === undefined ? undefined : parseMechanism(o.mechanism, '--mechanism');
  } catch (e) {
    throw usage(errorMessage(e));
  }
  const r = await initHsmConfig({
    configPath: o.config,
    libraryPath: o.library,
    tokenLabel: o.tokenLabel,
    slotId,
    keyLabel: o.keyLabel,
    pinEnvVar: o.pinEnv,
    keyType: keyTypeArg(o.keyType),
    mechanism,
    force: o.force ?? false,
    logger,
  });
  if (fmt === 'json') out(JSON.stringify({ ok: true, config: o.config, status: r.report }, null, 2) + '\n');
  else out(`wrote ${o.config}\n${r.text.trimEnd().replace(/^/gm, '  ')}\n${statusText(r.report)}`);
  return 0;
}

interface ConfigOptions {
  config: string;
  output?: string;
}

interface KeygenOptions extends ConfigOptions {
  keyLabel?: string;
  keyType?: string;
}

async function runKeygen(o: KeygenOptions): Promise<number> {
  const fmt = format(o.output);
  const config = loadHsmConfig(o.config);
  const key = o.keyLabel !== undefined ? { label: o.keyLabel, keyType: undefined } : signingKeyOf(config);
  const configured = key.keyType === 'ml-kem-768' ? undefined : key.keyType;
  const keyType = keyTypeArg(o.keyType) ?? configured ?? 'ml-dsa-44';
  if (configured && configured !== keyType) throw usage(`--key-type ${keyType} contradicts key_type ${configured} in ${o.config}`);
  const info = await withProvider(o.config, (p) => p.generateKey(keyType, key.label));
  if (fmt === 'json') out(JSON.stringify({ ok: true, key: keyJson(info) }, null, 2) + '\n');
  else out(`generated ${keyType} key '${info.label}' on the token\n${keyText(info)}`);
  return 0;
}

async function runList(o: ConfigOptions): Promise<number> {
  const fmt = format(o.output);
  const keys = await withProvider(o.config, (p) => p.listKeys());
  if (fmt === 'json') out(JSON.stringify({ ok: true, keys: keys.map(keyJson) }, null, 2) + '\n');
  else if (keys.length === 0) out('no keys on the token\n');
  else out(keys.map((k) => `${k.label}\n${keyText(k)}`).join(''));
  return 0;
}

async function runStatus(o: ConfigOptions & { keyLabel?: string }): Promise<number> {
  const fmt = format(o.output);
  const config = loadHsmConfig(o.config);
  const { report, provider } = await hsmStatus(config, { logger, ...(o.keyLabel !== undefined ? { keyLabel: o.keyLabel } : {}) });
  await provider?.close();
  if (fmt === 'json') out(JSON.stringify(report, null, 2) + '\n');
  else out(statusText(report));
  return report.ok ? 0 : 1;
}

interface MigrateOptions extends ConfigOptions {
  keystore: string;
  passphraseEnv?: string;
  passphraseFile?: string;
  passphrase?: string;
  role: string;
  keyLabel?: string;
  profile: string;
  validatorId?: string;
}

async function runMigrate(o: MigrateOptions): Promise<number> {
  const fmt = format(o.output);
  if (o.passphrase !== undefined) throw usage('a passphrase on the command line would show in ps and shell history; use --passphrase-env VAR or --passphrase-file FILE');
  if ((o.passphraseEnv === undefined) === (o.passphraseFile === undefined)) throw usage('name the keystore passphrase with exactly one of --passphrase-env VAR and --passphrase-file FILE');
  const profile = parseProfileName(o.profile);
  const role = parseKeyRole(o.role);
  const validatorId = o.validatorId === undefined ? undefined : parseU64Decimal(o.validatorId);
  if (validatorId === null) throw usage(`--validator-id must be an unsigned 64-bit decimal number, got '${o.validatorId}'`);
  const config = loadHsmConfig(o.config);
  const label = o.keyLabel ?? signingKeyOf(config).label;
  const passphrase = readPassphrase({ ...(o.passphraseEnv !== undefined ? { env: o.passphraseEnv } : { file: o.passphraseFile! }), profile, warn: (m) => err(`${NAME}: warning: ${m}\n`) });
  const r = await withProvider(o.config, (p) =>
    migrateKeystoreKey(p, { keystoreDir: o.keystore, passphrase, profile, role, label, ...(validatorId !== undefined ? { validatorId } : {}), onWarning: (m) => err(`${NAME}: warning: ${m}\n`) }),
  );
  if (fmt === 'json') out(JSON.stringify({ ok: true, validator_id: r.validatorId.toString(), role: r.role, keystore_fingerprint: r.keystoreFingerprint, key: keyJson(r.key) }, null, 2) + '\n');
  else {
    out(`migrated the ${r.role} key of validator ${r.validatorId} from ${o.keystore} to token key '${r.key.label}'\n${keyText(r.key)}`);
    out(`  keystore fingerprint ${r.keystoreFingerprint} = token key fingerprint; a probe signed on the token verifies under the keystore's public key\n`);
    out(`  the keystore still holds the private key: destroy it (shred -u) once the HSM signer runs\n`);
  }
  return 0;
}

interface BackupOptions extends ConfigOptions {
  dir: string;
  wrapKeyLabel?: string;
  keyLabel: string[];
}

async function runBackup(o: BackupOptions): Promise<number> {
  const fmt = format(o.output);
  const manifest = await withProvider(o.config, (p) => backupToken(p, { outputDir: o.dir, ...(o.wrapKeyLabel !== undefined ? { wrappingKeyLabel: o.wrapKeyLabel } : {}), ...(o.keyLabel.length > 0 ? { labels: o.keyLabel } : {}) }));
  if (fmt === 'json') out(JSON.stringify({ ok: true, dir: o.dir, manifest }, null, 2) + '\n');
  else {
    out(`backed up ${manifest.keys.length} key(s) of token '${manifest.token}' to ${o.dir}\n`);
    for (const k of manifest.keys) out(`  ${k.label}  ${k.key_type ?? '?'}  ${k.fingerprint ?? '-'}  public key saved; private key: ${k.private_key}${k.wrapped_file ? ` (${k.wrapped_file})` : ''}\n    ${k.note}\n`);
  }
  return 0;
}

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command(NAME)
    .description('Set up and inspect HSM signing over PKCS#11 (hsm.toml, token keys, migration, backup)')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err, outputError: (s, write) => write(s.replace(/(--[A-Za-z0-9-]+)=[^\s']*/g, '$1=<hidden>')) })
    .showSuggestionAfterError(true);
  const configOption = (c: Command): Command => c.option('--config <path>', 'hsm.toml', DEFAULT_CONFIG).option('--output <format>', "'text' or 'json'", 'text');

  program
    .command('init')
    .description('check a PKCS#11 library, token, login and key, then write hsm.toml (flat form)')
    .requiredOption('--library <path>', 'PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so')
    .option('--token-label <label>', 'token label')
    .option('--slot <n>', 'slot id (or index, as pkcs11-tool numbers slots) when no label is given')
    .requiredOption('--key-label <label>', 'label of the signing key on the token')
    .option('--pin-env <var>', 'environment variable that will hold the user PIN', 'QBIND_HSM_PIN')
    .option('--config <path>', 'hsm.toml to write', DEFAULT_CONFIG)
    .option('--key-type <type>', 'expected key type: ml-dsa-44 (default for keygen), ml-dsa-65, ml-dsa-87, ed25519, secp256k1, p-256')
    .option('--mechanism <m>', 'signing mechanism override: ml-dsa, eddsa, ecdsa, ecdsa-sha256 or a vendor CKM value like 0x80000004')
    .addOption(new Option('--backend <name>', 'HSM backend').default('pkcs11').choices(['pkcs11', 'ledger', 'azure']))
    .option('--force', 'replace an existing config file')
    .option('--output <format>', "'text' or 'json'", 'text')
    .action(async (o: InitOptions) => setCode(await runInit(o)));

  configOption(program.command('keygen').description('generate a key pair on the token (private key sensitive, never extractable)'))
    .option('--key-label <label>', 'label (default: the config\'s key_label / [keys.consensus])')
    .option('--key-type <type>', 'ml-dsa-44 (default), ml-dsa-65, ml-dsa-87, ed25519, secp256k1, p-256')
    .action(async (o: KeygenOptions) => setCode(await runKeygen(o)));

  configOption(program.command('list').description('list the key pairs on the token with their attributes and fingerprints')).action(async (o: ConfigOptions) => setCode(await runList(o)));

  configOption(program.command('status').description('check library, token, login, keys and mechanisms; sign and verify a probe with the signing key'))
    .option('--key-label <label>', 'check this key instead of the config\'s signing key')
    .action(async (o: ConfigOptions & { keyLabel?: string }) => setCode(await runStatus(o)));

  configOption(program.command('migrate').description('import a key from an EncryptedFsV1 keystore as a non-extractable token key and prove it signs for the same public key'))
    .requiredOption('--keystore <dir>', 'keystore folder (qbind-keygen generate --output)')
    .option('--passphrase-env <var>', 'environment variable holding the keystore passphrase')
    .option('--passphrase-file <file>', 'file holding the keystore passphrase')
    .addOption(new Option('--passphrase <value>').hideHelp())
    .option('--role <role>', 'keystore role to migrate', 'consensus')
    .option('--key-label <label>', 'token label for the key (default: the config\'s key_label / [keys.consensus])')
    .option('--profile <name>', 'network profile whose keystore rules apply', 'mainnet')
    .option('--validator-id <n>', 'require the keystore to belong to this validator')
    .action(async (o: MigrateOptions) => setCode(await runMigrate(o)));

  const collect = (v: string, prev: string[]): string[] => [...prev, v];
  configOption(program.command('backup').description('save public keys (and keys the token agrees to wrap) to a folder; never a plaintext private key'))
    .requiredOption('--dir <dir>', 'folder to write the backup into (created 0700)')
    .option('--wrap-key-label <label>', 'AES key on the token to wrap extractable private keys with')
    .option('--key-label <label>', 'only this key (repeatable)', collect, [])
    .action(async (o: BackupOptions) => setCode(await runBackup(o)));
  return program;
}

export function main(argv: string[]): Promise<number> {
  return runCli({ name: NAME, argv, build: buildProgram, usageCodes: USAGE_CODES });
}
