// Reads qbind-node's command line with node:util parseArgs: the settings of
// the table in settings.ts (`--flag value` or `--flag=value`, as the runbook
// writes them) and the command's own switches (--profile, --config,
// --validate-only, --output, --print-config, --strict, --check-timeout-ms,
// --help). Unknown flags, a missing value, a positional argument or one
// setting given twice with two values are usage errors (ConfigError).

import { ConfigError } from './config-error.ts';
import { DEFAULT_CHECK_TIMEOUT_MS } from './node-config.ts';
import { parseChoice, parseUint } from './values.ts';
import { parseProfileName, type ProfileName } from './profiles.ts';
import { allFlags, closest, settingByFlag, type Setting } from './settings.ts';
import { parseArgs } from 'node:util';
import { errorMessage, isQbindError } from '../errors.ts';

/** One setting given by a flag or a node.toml key, not yet applied. */
export interface SettingAssignment {
  setting: Setting;
  text: string;
  /** Where it came from, for messages: '--enable-gas', 'node.toml: p2p.listen_addr'. */
  origin: string;
}

export type OutputFormat = 'text' | 'json';

export interface NodeCommandLine {
  profile: ProfileName | null;
  configPath: string | null;
  validateOnly: boolean;
  printConfig: boolean;
  /** Count checks that could not run as failures. */
  strict: boolean;
  help: boolean;
  output: OutputFormat;
  /** Time limit of each outside-world check (TCP connect, HSM login). */
  checkTimeoutMs: number;
  assignments: SettingAssignment[];
}

const SWITCHES = ['--validate-only', '--print-config', '--strict', '--help', '-h'] as const;
const OWN_VALUED = ['--profile', '--config', '--output', '--check-timeout-ms'] as const;

export function knownNodeFlags(): string[] {
  return [...SWITCHES, ...OWN_VALUED, ...allFlags()];
}

/** node:util parseArgs over the settings table, its errors turned into ConfigErrors. */
function tokenize(argv: readonly string[]): { flag: string; value: string | undefined }[] {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const f of [...OWN_VALUED, ...allFlags()]) options[f.slice(2)] = { type: 'string', multiple: true };
  for (const f of SWITCHES) if (f.startsWith('--')) options[f.slice(2)] = { type: 'boolean', multiple: true };
  options.help = { type: 'boolean', multiple: true, short: 'h' };
  try {
    const { tokens } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false, tokens: true });
    return tokens.flatMap((t) => (t.kind === 'option' ? [{ flag: t.rawName === '-h' ? '--help' : t.rawName, value: t.value }] : []));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = errorMessage(err);
    const named = /(?:option|argument) '([^' ]+)/i.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const hint = closest(named, knownNodeFlags());
      throw new ConfigError('UNKNOWN_FLAG', `unknown flag ${named}${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new ConfigError('UNEXPECTED_ARGUMENT', `unexpected argument '${named}': qbind-node takes only --flags (see --help)`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (/does not take an argument/.test(message)) throw new ConfigError('BAD_VALUE', `${named} takes no value`);
      throw new ConfigError('MISSING_VALUE', `${named} needs a value${/ambiguous/.test(message) ? ` (to give a value starting with '-', write ${named}=VALUE)` : ''}`);
    }
    throw err;
  }
}

export function parseNodeCommandLine(argv: readonly string[]): NodeCommandLine {
  const out: NodeCommandLine = {
    profile: null, configPath: null, validateOnly: false, printConfig: false, strict: false, help: false,
    output: 'text', checkTimeoutMs: DEFAULT_CHECK_TIMEOUT_MS, assignments: [],
  };
  const own = new Map<string, string>();
  const seen = new Map<Setting, SettingAssignment>();

  for (const { flag, value } of tokenize(argv)) {
    if (value === undefined) {
      if (flag === '--validate-only') out.validateOnly = true;
      else if (flag === '--print-config') out.printConfig = true;
      else if (flag === '--strict') out.strict = true;
      else out.help = true;
      continue;
    }
    const setting = settingByFlag(flag);
    if (!setting) {
      const before = own.get(flag);
      if (before !== undefined && before !== value) throw new ConfigError('DUPLICATE_SETTING', `${flag} given twice ('${before}', '${value}')`);
      own.set(flag, value);
      continue;
    }
    const prior = seen.get(setting);
    if (prior && setting.type === 'list') {
      prior.text = `${prior.text},${value}`;
    } else if (prior && prior.text !== value) {
      throw new ConfigError('DUPLICATE_SETTING', `${setting.key} given twice: ${prior.origin} '${prior.text}' and ${flag} '${value}'`);
    } else if (!prior) {
      const a = { setting, text: value, origin: flag };
      seen.set(setting, a);
      out.assignments.push(a);
    }
  }

  const profile = own.get('--profile');
  if (profile !== undefined) {
    try {
      out.profile = parseProfileName(profile);
    } catch (err) {
      if (isQbindError(err, 'BAD_PROFILE')) throw new ConfigError('BAD_VALUE', `--profile: ${err.message}`);
      throw err;
    }
  }
  const config = own.get('--config');
  if (config !== undefined) {
    if (config.trim() === '') throw new ConfigError('BAD_VALUE', '--config: empty path');
    out.configPath = config;
  }
  const output = own.get('--output');
  if (output !== undefined) out.output = parseChoice('--output', output, ['text', 'json'] as const);
  const timeout = own.get('--check-timeout-ms');
  if (timeout !== undefined) out.checkTimeoutMs = parseUint('--check-timeout-ms', timeout, 1, 600_000);
  return out;
}
