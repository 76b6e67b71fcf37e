// The one way a qbind-* command turns a commander program into an exit code:
// 0 success (or help shown), 1 a failure the operator must fix (typed
// QbindError, printed with its stable code), 2 bad usage (commander errors and
// the command's usage codes). Unexpected exceptions print as internal errors.

import { CommanderError, type Command } from 'commander';
import { errorMessage, isQbindError } from '../errors.ts';

export interface CliSpec {
  name: string;
  argv: string[];
  /** Builds the program; actions report their exit code through setCode. */
  build: (setCode: (code: number) => void) => Command;
  /** QbindError codes that mean bad usage (exit 2). */
  usageCodes: ReadonlySet<string>;
}

export async function runCli(spec: CliSpec): Promise<number> {
  let code = 0;
  const program = spec.build((c) => (code = c));
  try {
    if (spec.argv.length === 0) {
      program.outputHelp({ error: true });
      return 2;
    }
    await program.parseAsync(spec.argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (isQbindError(e)) {
      process.stderr.write(`${spec.name}: error [${e.code}]: ${e.message}\n`);
      return spec.usageCodes.has(e.code) ? 2 : 1;
    }
    process.stderr.write(`${spec.name}: internal error: ${errorMessage(e)}\n`);
    return 1;
  }
}
