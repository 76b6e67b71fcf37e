// Dispatches `node bin/run.js <tool> [args]` to src/cli/<tool>.ts after the
// Node version check. Each CLI module exports main(argv) -> exit code.
import { requireNode } from './require-node.js';

const TOOLS = {
  'qbind-demo': '../src/cli/qbind-demo.ts',
};

const [tool, ...args] = process.argv.slice(2);
const entry = TOOLS[tool];
if (!entry) {
  process.stderr.write(`unknown qbind tool '${tool}'; known: ${Object.keys(TOOLS).join(', ')}\n`);
  process.exit(2);
}
requireNode(tool);
const { main } = await import(entry);
process.exitCode = await main(args);
