// qbind-node: checks a node configuration (--validate-only, runbook §11.2) and
// prints it (--print-config). It does not run a consensus node; asked to, it
// says what this package provides. A thin shell over src/config.

import { ConfigError } from '../config/config-error.ts';
import { loadNodeConfig } from '../config/resolve.ts';
import { NOT_A_NODE, nodeConfigToToml, nodeUsage } from '../config/usage.ts';
import { formatReportJson, formatReportText, validateNodeConfig } from '../config/validate.ts';
import { errorMessage } from '../errors.ts';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(nodeUsage());
    return 0;
  }
  let loaded;
  try {
    loaded = loadNodeConfig(argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`qbind-node: ${err.message}\n`);
    return 2;
  }
  const { commandLine, resolved } = loaded;
  if (commandLine.printConfig) process.stdout.write(nodeConfigToToml(resolved.config));
  if (commandLine.validateOnly) {
    try {
      const report = await validateNodeConfig(resolved, { strict: commandLine.strict, timeoutMs: commandLine.checkTimeoutMs });
      process.stdout.write(commandLine.output === 'json' ? formatReportJson(report) : formatReportText(report));
      return report.valid ? 0 : 1;
    } catch (err) {
      process.stderr.write(`qbind-node: the check could not complete: ${errorMessage(err)}\n`);
      return 2;
    }
  }
  if (commandLine.printConfig) return 0;
  process.stderr.write(NOT_A_NODE);
  return 2;
}
