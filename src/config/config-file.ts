// Reads node.toml: the same settings as the flags, under the keys of
// settings.ts (top-level keys and the [p2p], [signer], [snapshot_config],
// [state_retention], [mempool] sections), plus `profile`. Values must have
// their TOML type (true, 42, "text", ["a", "b"]); an unknown key or section
// is an error, so a typo never silently leaves a safety setting at its default.
// Also finds the file: --config, else $QBIND_NODE_CONFIG, else
// /etc/qbind/node.toml when it exists (the runbook's path, §10.2, §10.4).

import { existsSync, readFileSync } from 'node:fs';
import { parse, TomlDate, TomlError } from 'smol-toml';
import { ConfigError } from './config-error.ts';
import type { SettingAssignment } from './command-line.ts';
import { parseProfileName, type ProfileName } from './profiles.ts';
import { allKeys, closest, settingByKey, TOML_SECTIONS, type Setting } from './settings.ts';
import { errorMessage } from '../errors.ts';

export const DEFAULT_NODE_CONFIG_PATH = '/etc/qbind/node.toml';
export const NODE_CONFIG_ENV = 'QBIND_NODE_CONFIG';

export interface NodeConfigFile {
  path: string;
  profile: ProfileName | null;
  assignments: SettingAssignment[];
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'bigint') return 'an integer';
  if (typeof v === 'number') return 'a float';
  if (v instanceof TomlDate || v instanceof Date) return 'a date';
  if (typeof v === 'object' && v !== null) return 'a table';
  return `a ${typeof v}`;
}

function toText(setting: Setting, v: unknown, where: string): string {
  const bad = (want: string): never => {
    throw new ConfigError('BAD_VALUE', `${where}: expected ${want}, found ${typeName(v)}`);
  };
  switch (setting.type) {
    case 'boolean':
      return typeof v === 'boolean' ? String(v) : bad('true or false');
    case 'integer':
      return typeof v === 'bigint' ? v.toString() : bad('an integer');
    case 'float':
      return typeof v === 'number' || typeof v === 'bigint' ? String(v) : bad('a number');
    case 'string':
      return typeof v === 'string' ? v : bad('a string');
    case 'list':
      if (typeof v === 'string') return v;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
      return bad('an array of strings');
  }
}

/** Parses node.toml text; `path` only names it in messages. */
export function parseNodeConfigToml(text: string, path: string): NodeConfigFile {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text, { integersAsBigInt: true, unsafeKeyBehaviour: 'throw' }) as Record<string, unknown>;
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
    throw new ConfigError('CONFIG_FILE_INVALID', `${path}: not valid TOML${where}: ${errorMessage(err).split('\n')[0]}`);
  }
  const file: NodeConfigFile = { path, profile: null, assignments: [] };
  const seen = new Map<Setting, SettingAssignment>();

  const take = (key: string, value: unknown): void => {
    const where = `${path}: ${key}`;
    const setting = settingByKey(key);
    if (!setting) {
      const hint = closest(key, allKeys());
      throw new ConfigError('UNKNOWN_KEY', `${where}: unknown key${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
    const text = toText(setting, value, where);
    const prior = seen.get(setting);
    if (prior) {
      if (prior.text !== text) throw new ConfigError('DUPLICATE_SETTING', `${where}: ${setting.key} is also set by ${prior.origin}, to another value`);
      return;
    }
    const a = { setting, text, origin: where };
    seen.set(setting, a);
    file.assignments.push(a);
  };

  for (const [key, value] of Object.entries(doc)) {
    if (key === 'profile') {
      if (typeof value !== 'string') throw new ConfigError('BAD_VALUE', `${path}: profile: expected a string, found ${typeName(value)}`);
      try {
        file.profile = parseProfileName(value);
      } catch (err) {
        throw new ConfigError('BAD_VALUE', `${path}: profile: ${errorMessage(err)}`);
      }
    } else if (TOML_SECTIONS.includes(key)) {
      if (typeName(value) !== 'a table') {
        throw new ConfigError('CONFIG_FILE_INVALID', `${path}: ${key} must be a [${key}] section`);
      }
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) take(`${key}.${sub}`, v);
    } else if (typeName(value) === 'a table' && !settingByKey(key)) {
      throw new ConfigError('UNKNOWN_KEY', `${path}: unknown section [${key}] (node.toml has ${TOML_SECTIONS.map((x) => `[${x}]`).join(', ')})`);
    } else {
      take(key, value);
    }
  }
  return file;
}

export function readNodeConfigFile(path: string): NodeConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError('CONFIG_FILE_UNREADABLE', `cannot read config file ${path}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
  return parseNodeConfigToml(text, path);
}

/**
 * Which node.toml to read: the --config path; else $QBIND_NODE_CONFIG (set
 * but empty: none); else /etc/qbind/node.toml if it exists; else none.
 */
export function findNodeConfigFile(explicit: string | null, env: NodeJS.ProcessEnv = process.env, fallback = DEFAULT_NODE_CONFIG_PATH): string | null {
  if (explicit !== null) return explicit;
  const fromEnv = env[NODE_CONFIG_ENV];
  if (fromEnv !== undefined) return fromEnv.trim() === '' ? null : fromEnv;
  return existsSync(fallback) ? fallback : null;
}
