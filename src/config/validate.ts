// qbind-node --validate-only as a library: runs every check that applies to a
// configuration (invariants 1-15 when the target is MainNet, 16 always, 17-19
// for the signer mode), collects all violations and warnings at once, and
// renders the report as text or JSON. valid means no violation (and, with
// strict, no check left 'not-checked').

import { stat } from 'node:fs/promises';
import { formatChainId } from '../preimage/chain-id.ts';
import type { SignerBackends } from './backends.ts';
import { builtInBackends } from './backends.ts';
import { checkSignerSettings, MAINNET_INVARIANTS, signerWarnings, targetNetwork, validateMainnetInvariants, type ConfigWarning, type Violation } from './invariants.ts';
import { chainIdOf, DEFAULT_CHECK_TIMEOUT_MS, type NodeConfig } from './node-config.ts';
import type { ProfileName } from './profiles.ts';
import { describeSource, type ProfileSource, type ResolvedNodeConfig } from './resolve.ts';
import { runOutsideChecks, type CheckResult } from './signer-checks.ts';

export interface ReportedViolation extends Violation {
  /** Where the value came from: 'flag --enable-gas', '/etc/qbind/node.toml: gas_enabled', 'profile mainnet default'. */
  source: string;
}

export interface ValidationReport {
  valid: boolean;
  strict: boolean;
  profile: ProfileName;
  profileSource: ProfileSource;
  environment: string;
  /** The network whose rules were applied. */
  target: ProfileName;
  chainId: string;
  configFile: string | null;
  violations: ReportedViolation[];
  warnings: ConfigWarning[];
  checks: CheckResult[];
}

export interface ValidateOptions {
  /** Run checks 17-19 (default true); false reports them 'not-checked'. */
  outside?: boolean;
  strict?: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  backends?: SignerBackends;
}

async function dataDirProblem(config: NodeConfig): Promise<string | null> {
  if (config.dataDir === null) return null;
  try {
    const st = await stat(config.dataDir);
    return st.isDirectory() ? null : `${config.dataDir} is not a directory`;
  } catch {
    return null; // not created yet: the node creates it
  }
}

export async function validateNodeConfig(input: ResolvedNodeConfig | NodeConfig, options: ValidateOptions = {}): Promise<ValidationReport> {
  const resolved: ResolvedNodeConfig = 'config' in input ? input : { config: input, profileSource: 'default', configFile: null, sources: new Map() };
  const { config } = resolved;
  const target = targetNetwork(config);
  const mainnet = target === 'mainnet';
  const outside = options.outside ?? true;
  const violations: Violation[] = [];
  const checks: CheckResult[] = [];

  const mainnetViolations = mainnet ? validateMainnetInvariants(config) : [];
  const dirProblem = outside ? await dataDirProblem(config) : null;
  if (mainnet && dirProblem && !mainnetViolations.some((v) => v.invariant === 8)) {
    const inv8 = MAINNET_INVARIANTS.find((i) => i.n === 8)!;
    mainnetViolations.push({ invariant: 8, name: inv8.name, setting: 'data_dir', found: dirProblem, expected: 'a directory', fix: inv8.fix });
    mainnetViolations.sort((a, b) => a.invariant - b.invariant);
  }
  violations.push(...mainnetViolations);
  for (const inv of MAINNET_INVARIANTS) {
    const v = mainnetViolations.find((x) => x.invariant === inv.n);
    checks.push({
      id: String(inv.n), name: inv.name,
      status: !mainnet ? 'not-applicable' : v ? 'failed' : 'passed',
      detail: !mainnet ? `MainNet only (target ${target})` : v ? `found ${v.found}` : 'ok',
    });
  }

  const settings = checkSignerSettings(config);
  violations.push(...settings);
  checks.push({ id: '16', name: 'signer configuration complete', status: settings.length ? 'failed' : 'passed', detail: settings.length ? settings.map((v) => `${v.setting} ${v.found}`).join(', ') : 'ok' });

  const warnings = signerWarnings(config);
  if (outside) {
    const r = await runOutsideChecks(config, { env: options.env ?? process.env, timeoutMs: options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, backends: options.backends ?? (await builtInBackends()) });
    violations.push(...r.violations);
    warnings.push(...r.warnings);
    checks.push(...r.checks);
  } else {
    for (const [id, name] of [['17', 'keystore usable'], ['18', 'remote signer reachable'], ['19', 'HSM accessible']] as const) {
      checks.push({ id, name, status: 'not-checked', detail: 'outside-world checks not run' });
    }
  }

  const strict = options.strict ?? false;
  const reported = violations.map((v) => ({ ...v, source: describeSource(resolved.sources.get(v.setting), config.profile) }));
  const unchecked = checks.some((c) => c.status === 'not-checked');
  return {
    valid: reported.length === 0 && !(strict && unchecked),
    strict,
    profile: config.profile,
    profileSource: resolved.profileSource,
    environment: config.environment,
    target,
    chainId: formatChainId(chainIdOf(config)),
    configFile: resolved.configFile,
    violations: reported,
    warnings,
    checks,
  };
}

const STATUS_LABEL: Record<CheckResult['status'], string> = { passed: 'ok', failed: 'FAILED', 'not-checked': 'NOT CHECKED', 'not-applicable': 'n/a' };

/** The report for a terminal: one line per check, each violation with its fix, then the verdict. */
export function formatReportText(r: ValidationReport): string {
  const lines: string[] = [];
  lines.push(`qbind-node configuration check: profile ${r.profile} (${r.profileSource}), environment ${r.environment}, chain id ${r.chainId}, rules of ${r.target}`);
  lines.push(`config file: ${r.configFile ?? 'none'}`);
  for (const c of r.checks) {
    if (c.status === 'not-applicable') continue;
    const head = `  ${STATUS_LABEL[c.status].padEnd(11)} ${c.id.padStart(2)}  ${c.name}`;
    const vs = r.violations.filter((v) => String(v.invariant) === c.id);
    if (c.status === 'failed' && vs.length > 0) {
      for (const v of vs) {
        lines.push(`${head}: found ${v.found} (${v.source}); expected ${v.expected}`);
        lines.push(`${' '.repeat(17)}fix: ${v.fix}`);
      }
    } else {
      lines.push(c.status === 'passed' ? head : `${head}: ${c.detail}`);
    }
  }
  for (const w of r.warnings) lines.push(`  WARNING     ${w.code}  ${w.message}`);
  const unchecked = r.checks.filter((c) => c.status === 'not-checked').map((c) => c.id);
  const n = new Set(r.violations.map((v) => v.invariant));
  let verdict = r.violations.length === 0 ? 'VALID' : `INVALID: ${n.size} invariant(s) violated (${[...n].join(', ')})`;
  if (unchecked.length > 0) verdict += `; not checked: ${unchecked.join(', ')}${r.strict ? ' (strict: counted as failures)' : ''}`;
  if (r.violations.length === 0 && !r.valid) verdict = `INVALID (strict): not checked: ${unchecked.join(', ')}`;
  lines.push(`result: ${verdict}`);
  return lines.join('\n') + '\n';
}

export function formatReportJson(r: ValidationReport): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n';
}
