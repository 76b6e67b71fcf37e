// qbind-protection: move a validator's double-sign protection state between
// machines and stores (docs/protection-interchange.md), and show it.
//   qbind-protection export --store LOCATION --output FILE
//   qbind-protection import --store LOCATION --input FILE
//   qbind-protection show   --store LOCATION
// A thin shell over src/protection; exit codes: 0 success, 1 a store or file
// problem (nothing was changed), 2 bad usage.

import { readFileSync } from 'node:fs';
import { runCli } from './run-cli.ts';
import { Command } from 'commander';
import { errorMessage, QbindError } from '../errors.ts';
import { writeFileAtomic } from '../fsutil/atomic-write.ts';
import { parseChainId } from '../preimage/chain-id.ts';
import { decodeInterchange, exportInterchange, openProtectionStore, type ExportFilter, type ProtectionStore } from '../protection/index.ts';
import { summarizeRecords, summaryText } from '../protection/report.ts';
import { parseU64Decimal } from '../preimage/u64.ts';

const NAME = 'qbind-protection';
const USAGE_CODES = new Set(['USAGE', 'BAD_CHAIN_ID', 'STORE_LOCATION_INVALID']);
const MAX_INPUT = 256 * 1024 * 1024;

const out = (s: string): void => void process.stdout.write(s);
const err = (s: string): void => void process.stderr.write(s);

function usage(message: string): QbindError {
  return new QbindError('USAGE', message);
}

function filterFrom(o: { chainId?: string; validatorId?: string[] }): ExportFilter {
  const filter: ExportFilter = {};
  if (o.chainId !== undefined) filter.chainId = parseChainId(o.chainId);
  if (o.validatorId !== undefined) {
    filter.validatorIds = o.validatorId.map((v) => {
      const id = parseU64Decimal(v);
      if (id === null) throw usage(`--validator-id must be an unsigned 64-bit decimal number, got '${v}'`);
      return id;
    });
  }
  return filter;
}

async function withStore<T>(location: string, create: boolean, fn: (store: ProtectionStore) => Promise<T>): Promise<T> {
  const store = await openProtectionStore(location, { create });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

interface ExportOptions {
  store: string;
  output: string;
  chainId?: string;
  validatorId?: string[];
  force?: boolean;
}

async function runExport(o: ExportOptions): Promise<number> {
  const filter = filterFrom(o);
  const text = await withStore(o.store, false, (store) => exportInterchange(store, filter));
  if (o.output === '-') out(text);
  else {
    writeFileAtomic(o.output, text, { mode: 0o600, overwrite: o.force === true });
    const n = (JSON.parse(text) as { data: Array<{ signed: unknown[] }> }).data.reduce((a, d) => a + d.signed.length, 0);
    err(`${NAME}: exported ${n} record(s) to ${o.output}\n`);
  }
  return 0;
}

async function runImport(o: { store: string; input: string }): Promise<number> {
  let text: string;
  try {
    const buf = readFileSync(o.input === '-' ? 0 : o.input);
    if (buf.length > MAX_INPUT) throw usage(`${o.input} is larger than ${MAX_INPUT} bytes`);
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof QbindError) throw e;
    throw new QbindError('INTERCHANGE_UNREADABLE', `cannot read ${o.input}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
  }
  // The whole file is checked before the store is even opened: a bad file creates and changes nothing.
  const records = decodeInterchange(text);
  const summary = await withStore(o.store, true, (store) => store.importRecords(records));
  out(`imported ${records.length} record(s): ${summary.added} added, ${summary.raised} raised, ${summary.unchanged} unchanged (local was as high or higher), ${summary.blocked} blocked (same height, different or unknown preimage)\n`);
  return 0;
}

async function runShow(o: { store: string; chainId?: string; validatorId?: string[]; output: string }): Promise<number> {
  if (o.output !== 'text' && o.output !== 'json') throw usage(`--output must be 'text' or 'json', got '${o.output}'`);
  const filter = filterFrom(o);
  const records = await withStore(o.store, false, (store) => store.exportRecords(filter));
  const summaries = summarizeRecords(records);
  out(o.output === 'json' ? JSON.stringify(summaries, null, 2) + '\n' : summaryText(summaries));
  return 0;
}

function buildProgram(setCode: (c: number) => void): Command {
  const program = new Command(NAME)
    .description('export, import and show double-sign protection state (docs/protection-interchange.md)')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err })
    .showHelpAfterError();
  const storeHelp = 'protection store: a file path or sqlite:PATH, or a postgres:// / postgresql:// URL';
  program
    .command('export')
    .description('write the protection state as interchange JSON (stop the signer first so nothing is signed after the export)')
    .requiredOption('--store <location>', storeHelp)
    .requiredOption('--output <file>', "file to write ('-' for stdout); never overwritten unless --force")
    .option('--chain-id <id>', 'only this chain (devnet, testnet, mainnet, decimal or 0x-hex)')
    .option('--validator-id <n...>', 'only these validators')
    .option('--force', 'replace an existing output file')
    .action(async (o: ExportOptions) => setCode(await runExport(o)));
  program
    .command('import')
    .description('merge interchange JSON into a store (created if missing): per slot the higher height wins, a watermark is never lowered')
    .requiredOption('--store <location>', storeHelp)
    .requiredOption('--input <file>', "interchange file ('-' for stdin)")
    .action(async (o: { store: string; input: string }) => setCode(await runImport(o)));
  program
    .command('show')
    .description('highest signed view or round of each kind, per chain, validator and key role')
    .requiredOption('--store <location>', storeHelp)
    .option('--chain-id <id>', 'only this chain')
    .option('--validator-id <n...>', 'only these validators')
    .option('--output <format>', "'text' or 'json'", 'text')
    .action(async (o: { store: string; chainId?: string; validatorId?: string[]; output: string }) => setCode(await runShow(o)));
  return program;
}

export function main(argv: string[]): Promise<number> {
  return runCli({ name: NAME, argv, build: buildProgram, usageCodes: USAGE_CODES });
}
