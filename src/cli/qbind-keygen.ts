// qbind-keygen: generate, verify and inspect EncryptedFsV1 keystores (runbook
// §4.1 option A, §6.2, §10.5). A thin shell over src/keystore; exit codes:
// 0 success, 1 a keystore or key problem, 2 bad usage. See docs/keystore.md.

import { runCli } from './run-cli.ts';
import { Command, Option } from 'commander';
import { parseProfileName, type ProfileName } from '../config/profiles.ts';
import { errorMessage, isQbindError, QbindError } from '../errors.ts';
import {
  generateKeystore,
  KeystoreError,
  parseKeyRoles,
  readPassphrase,
  scanKeystore,
  unlockManySettled,
  type KeyRole,
} from '../keystore/index.ts';
import { errorJson, generatedText, scanJson, scanText, unlockedJson, unlockedText, type JsonValue } from '../keystore/report.ts';
import { selfTestKeystore } from '../keystore/self-test.ts';
import { parseU64Decimal } from '../preimage/u64.ts';

const NAME = 'qbind-keygen';
const USAGE_CODES = new Set(['USAGE', 'BAD_PROFILE', 'BAD_VALIDATOR_ID', 'BAD_ITERATIONS', 'BAD_KEY_ROLE', 'PASSPHRASE_SOURCE', 'BAD_ENV_VAR_NAME']);

const out = (s: string): void => void process.stdout.write(s);
const err = (s: string): void => void process.stderr.write(s);
const warn = (m: string): void => err(`${NAME}: warning: ${m}\n`);

function usage(message: string): QbindError {
  return new QbindError('USAGE', message);
}

function parseValidatorId(text: string): bigint {
  const v = parseU64Decimal(text);
  if (v === null) throw new KeystoreError('BAD_VALIDATOR_ID', `--validator-id must be an unsigned 64-bit decimal number, got '${text}'`);
  return v;
}

function parseIterations(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new KeystoreError('BAD_ITERATIONS', `--iterations must be a positive integer, got '${text}'`);
  return Number(text);
}

function parseFormat(text: string | undefined): 'text' | 'json' {
  if (text === undefined || text === 'text') return 'text';
  if (text === 'json') return 'json';
  throw usage(`--output must be 'text' or 'json', got '${text}'`);
}

interface PassphraseOptions {
  passphraseEnv?: string;
  passphraseFile?: string;
  passphrase?: string;
}

function refuseCommandLinePassphrase(o: PassphraseOptions): void {
  if (o.passphrase !== undefined) {
    throw usage('a passphrase on the command line would show in ps and shell history; use --passphrase-env VAR or --passphrase-file FILE');
  }
}

function passphraseFrom(o: PassphraseOptions, profile: ProfileName, required: boolean): string | null {
  refuseCommandLinePassphrase(o);
  if (o.passphraseEnv !== undefined && o.passphraseFile !== undefined) throw usage('use only one of --passphrase-env and --passphrase-file');
  if (o.passphraseEnv === undefined && o.passphraseFile === undefined) {
    if (required) throw usage('--encrypt needs --passphrase-env VAR or --passphrase-file FILE');
    return null;
  }
  return readPassphrase({
    ...(o.passphraseEnv !== undefined ? { env: o.passphraseEnv } : { file: o.passphraseFile! }),
    profile,
    warn,
  });
}

const passphraseOptions = (cmd: Command): Command =>
  cmd
    .option('--passphrase-env <var>', 'environment variable holding the keystore passphrase')
    .option('--passphrase-file <file>', 'file holding the keystore passphrase (one trailing newline is ignored)')
    .addOption(new Option('--passphrase <value>').hideHelp());

const profileOption = (cmd: Command): Command =>
  cmd.option('--profile <name>', 'network profile whose rules apply: devnet-v0, testnet-alpha, testnet-beta, mainnet', 'mainnet');

interface GenerateOptions extends PassphraseOptions {
  output: string;
  validatorId: string;
  keyRoles?: string;
  keyRole: string[];
  encrypt?: boolean;
  plaintext?: boolean;
  profile: string;
  iterations?: string;
  overwrite?: boolean;
}

async function runGenerate(o: GenerateOptions): Promise<number> {
  refuseCommandLinePassphrase(o);
  const profile = parseProfileName(o.profile);
  const validatorId = parseValidatorId(o.validatorId);
  const roles: KeyRole[] = parseKeyRoles([...(o.keyRoles !== undefined ? [o.keyRoles] : []), ...o.keyRole]);
  if (roles.length === 0) throw usage('name the key roles: --key-roles consensus,p2p-identity,batch-signing or --key-role ROLE');
  if (o.encrypt && o.plaintext) throw usage('use either --encrypt or --plaintext');
  if (!o.encrypt && !o.plaintext) throw usage('choose --encrypt (with --passphrase-env or --passphrase-file) or, on devnet only, --plaintext');
  if (o.plaintext && (o.passphraseEnv !== undefined || o.passphraseFile !== undefined)) throw usage('--plaintext takes no passphrase');
  if (o.plaintext && o.iterations !== undefined) throw usage('--plaintext takes no --iterations (nothing is derived)');
  const passphrase = o.plaintext ? null : passphraseFrom(o, profile, true);
  if (o.plaintext && profile !== 'devnet-v0') {
    throw new KeystoreError('PLAINTEXT_KEY_REFUSED', `plaintext keys are refused on ${profile}; they are for devnet only (add --profile devnet, or use --encrypt)`);
  }
  const generated = await generateKeystore({
    dir: o.output,
    validatorId,
    roles,
    passphrase,
    profile,
    ...(o.iterations !== undefined ? { iterations: parseIterations(o.iterations) } : {}),
    overwrite: o.overwrite ?? false,
    onWarning: (m) => {
      if (passphrase === null && m.startsWith('WARNING')) {
        const bar = '!'.repeat(78);
        err(`${bar}\n${m}\n${bar}\n`);
      } else warn(m);
    },
  });
  out(generatedText(generated, profile));
  return 0;
}

interface VerifyOptions extends PassphraseOptions {
  keystore: string[];
  profile: string;
  validatorId?: string;
  output?: string;
  workers?: string;
}

async function runVerify(o: VerifyOptions): Promise<number> {
  const profile = parseProfileName(o.profile);
  const format = parseFormat(o.output);
  const validatorId = o.validatorId !== undefined ? parseValidatorId(o.validatorId) : undefined;
  const workers = o.workers !== undefined ? Number.parseInt(o.workers, 10) : undefined;
  if (workers !== undefined && !(workers >= 1 && workers <= 1024)) throw usage(`--workers must be from 1 to 1024, got '${o.workers}'`);
  const passphrase = passphraseFrom(o, profile, false);
  const outcomes = await unlockManySettled(
    o.keystore.map((dir) => ({ dir, ...(validatorId !== undefined ? { validatorId } : {}) })),
    passphrase,
    { profile, ...(workers !== undefined ? { workers } : {}), onWarning: (dir, m) => (format === 'text' ? warn(m) : undefined) },
  );
  const results: JsonValue[] = [];
  let failed = 0;
  for (const r of outcomes) {
    let error: QbindError | null = r.ok ? null : r.error;
    if (r.ok) {
      try {
        selfTestKeystore(r.keystore);
      } catch (e) {
        error = isQbindError(e) ? e : new KeystoreError('KEY_FILE_TAMPERED', errorMessage(e));
      }
    }
    if (error) {
      failed++;
      results.push(errorJson(r.dir, error));
      if (format === 'text') err(`${NAME}: error [${error.code}]: ${error.message}\n`);
    } else if (r.ok) {
      results.push(unlockedJson(r.keystore));
      if (format === 'text') out(unlockedText(r.keystore));
    }
    if (r.ok) r.keystore.close();
  }
  if (format === 'json') out(JSON.stringify({ ok: failed === 0, profile, keystores: results }, null, 2) + '\n');
  else if (outcomes.length > 1) out(`verified ${outcomes.length - failed} of ${outcomes.length} keystores\n`);
  return failed === 0 ? 0 : 1;
}

interface InspectOptions {
  keystore: string[];
  profile: string;
  validatorId?: string;
  output?: string;
}

async function runInspect(o: InspectOptions): Promise<number> {
  const profile = parseProfileName(o.profile);
  const format = parseFormat(o.output);
  const validatorId = o.validatorId !== undefined ? parseValidatorId(o.validatorId) : undefined;
  const results: JsonValue[] = [];
  let failed = 0;
  for (const dir of o.keystore) {
    try {
      const scan = scanKeystore(dir, { profile, ...(validatorId !== undefined ? { validatorId } : {}) });
      const bad = scan.problems.some((p) => p.severity === 'error');
      if (bad) failed++;
      results.push(scanJson(scan));
      if (format === 'text') out(scanText(scan));
    } catch (e) {
      if (!isQbindError(e)) throw e;
      failed++;
      results.push(errorJson(dir, e));
      if (format === 'text') err(`${NAME}: error [${e.code}]: ${e.message}\n`);
    }
  }
  if (format === 'json') out(JSON.stringify({ ok: failed === 0, profile, keystores: results }, null, 2) + '\n');
  return failed === 0 ? 0 : 1;
}

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command(NAME)
    .description('Generate, verify and inspect QBIND EncryptedFsV1 keystores')
    .exitOverride()
    .configureOutput({
      writeOut: out,
      writeErr: err,
      // Commander echoes unknown options; never echo an option's value.
      outputError: (s, write) => write(s.replace(/(--[A-Za-z0-9-]+)=[^\s']*/g, '$1=<hidden>')),
    })
    .showSuggestionAfterError(true);

  const collect = (v: string, prev: string[]): string[] => [...prev, v];
  const generate = program
    .command('generate')
    .description('generate keys for a validator into a keystore folder')
    .requiredOption('--output <dir>', 'keystore folder (created 0700 if missing)')
    .requiredOption('--validator-id <n>', 'validator id (u64)')
    .option('--key-roles <roles>', 'comma-separated roles: consensus, p2p-identity, batch-signing')
    .option('--key-role <role>', 'one role (repeatable)', collect, [])
    .option('--encrypt', 'encrypt each key with the passphrase (EncryptedFsV1)')
    .option('--plaintext', 'write UNENCRYPTED keys (devnet only)')
    .option('--iterations <n>', 'PBKDF2 iterations (default 600000; mainnet refuses fewer)')
    .option('--overwrite', 'replace existing key files');
  passphraseOptions(profileOption(generate)).action(async (o: GenerateOptions) => setCode(await runGenerate(o)));

  const verify = program
    .command('verify')
    .description('unlock keystores with the passphrase and test every key')
    .requiredOption('--keystore <dirs...>', 'keystore folder(s)')
    .option('--validator-id <n>', 'require this validator id')
    .option('--output <format>', "'text' or 'json'", 'text')
    .option('--workers <n>', 'PBKDF2 worker threads (default: one per core)');
  passphraseOptions(profileOption(verify)).action(async (o: VerifyOptions) => setCode(await runVerify(o)));

  const inspect = program
    .command('inspect')
    .description('show roles, suites, validator id, fingerprints, KDF parameters and permission problems (no passphrase)')
    .requiredOption('--keystore <dirs...>', 'keystore folder(s)')
    .option('--validator-id <n>', 'require this validator id')
    .option('--output <format>', "'text' or 'json'", 'text');
  profileOption(inspect).action(async (o: InspectOptions) => setCode(await runInspect(o)));
  return program;
}

export function main(argv: string[]): Promise<number> {
  return runCli({ name: NAME, argv, build: buildProgram, usageCodes: USAGE_CODES });
}
