// Builds the effective NodeConfig in three layers: the profile's defaults,
// then node.toml, then the command-line flags (later layers win), then the
// paths derived from data_dir. Records where each setting came from so that
// reports can say which flag or key to change. See docs/node-config.md.

import { readNodeConfigFile, findNodeConfigFile, type NodeConfigFile } from './config-file.ts';
import { parseNodeCommandLine, type NodeCommandLine, type SettingAssignment } from './command-line.ts';
import { deriveDefaultPaths, type NodeConfig } from './node-config.ts';
import { parseEnvironment } from './values.ts';
import { profileDefaults, profileForEnvironment, type ProfileName } from './profiles.ts';

export type SettingSource =
  | { kind: 'profile'; profile: ProfileName }
  | { kind: 'file'; origin: string }
  | { kind: 'flag'; flag: string }
  | { kind: 'derived'; from: string };

export type ProfileSource = 'flag' | 'file' | 'environment' | 'default';

export interface ResolvedNodeConfig {
  config: NodeConfig;
  profileSource: ProfileSource;
  configFile: string | null;
  /** Source of each setting key that is not the profile default. */
  sources: Map<string, SettingSource>;
}

export function describeSource(source: SettingSource | undefined, profile: ProfileName): string {
  if (!source || source.kind === 'profile') return `profile ${profile} default`;
  if (source.kind === 'file') return source.origin;
  if (source.kind === 'flag') return `flag ${source.flag}`;
  return `derived from ${source.from}`;
}

function environmentIn(assignments: readonly SettingAssignment[]): ReturnType<typeof parseEnvironment> | null {
  const a = assignments.find((x) => x.setting.key === 'environment');
  return a ? parseEnvironment(a.text, a.origin) : null;
}

/** The profile, from --profile, then node.toml `profile`, then the environment given, then devnet-v0. */
function chooseProfile(commandLine: NodeCommandLine | null, file: NodeConfigFile | null): [ProfileName, ProfileSource] {
  if (commandLine?.profile) return [commandLine.profile, 'flag'];
  if (file?.profile) return [file.profile, 'file'];
  const env = environmentIn(commandLine?.assignments ?? []) ?? environmentIn(file?.assignments ?? []);
  if (env) return [profileForEnvironment(env), 'environment'];
  return ['devnet-v0', 'default'];
}

export function resolveNodeConfig(input: { commandLine?: NodeCommandLine | null; file?: NodeConfigFile | null }): ResolvedNodeConfig {
  const commandLine = input.commandLine ?? null;
  const file = input.file ?? null;
  const [profile, profileSource] = chooseProfile(commandLine, file);
  const config = profileDefaults(profile);
  const sources = new Map<string, SettingSource>();
  for (const a of file?.assignments ?? []) {
    a.setting.apply(config, a.text, a.origin);
    sources.set(a.setting.key, { kind: 'file', origin: a.origin });
  }
  for (const a of commandLine?.assignments ?? []) {
    a.setting.apply(config, a.text, a.origin);
    sources.set(a.setting.key, { kind: 'flag', flag: a.origin });
  }
  for (const key of deriveDefaultPaths(config)) sources.set(key, { kind: 'derived', from: 'data_dir' });
  return { config, profileSource, configFile: file?.path ?? null, sources };
}

export interface LoadNodeConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Where to look when neither --config nor $QBIND_NODE_CONFIG names a file. */
  defaultConfigPath?: string;
}

/** Command line -> config file -> effective configuration: what qbind-node does before anything else. */
export function loadNodeConfig(argv: readonly string[], options: LoadNodeConfigOptions = {}): { commandLine: NodeCommandLine; resolved: ResolvedNodeConfig } {
  const commandLine = parseNodeCommandLine(argv);
  const path = findNodeConfigFile(commandLine.configPath, options.env ?? process.env, options.defaultConfigPath);
  const file = path === null ? null : readNodeConfigFile(path);
  return { commandLine, resolved: resolveNodeConfig({ commandLine, file }) };
}

/** The configuration a command line gives on its own (no node.toml): for tests and tools. */
export function nodeConfigFromArgs(argv: readonly string[]): NodeConfig {
  return resolveNodeConfig({ commandLine: parseNodeCommandLine(argv) }).config;
}
