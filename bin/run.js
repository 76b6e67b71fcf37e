// Dispatches `node bin/run.js <tool> [args]` to src/cli/<tool>.ts after the
// Node version check. Each CLI module exports main(argv) -> exit code; a new
// command is a new src/cli/qbind-NAME.ts plus a bin/qbind-NAME link to bin/qbind.
import { existsSync } from 'node:fs';
import { requireNode } from './require-node.js';

const [tool = '', ...args] = process.argv.slice(2);
const entry = new URL(`../src/cli/${tool}.ts`, import.meta.url);
if (!/^qbind-[a-z0-9-]+$/.test(tool) || !existsSync(entry)) {
  process.stderr.write(`unknown qbind command '${tool}'\n`);
  process.exit(2);
}
requireNode(tool);
const { main } = await import(entry.href);
process.exitCode = await main(args);
