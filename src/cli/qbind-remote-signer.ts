// qbind-remote-signer: the signing daemon (runbook §4.1 option B, §4.2, §10.2).
//   qbind-remote-signer --config /etc/qbind/remote_signer.toml [--init-protection-store]
//   qbind-remote-signer --config FILE --check-config
//   qbind-remote-signer devnet [--dir .qbind/devnet] [--listen 127.0.0.1:9443]   (npm start)
//   qbind-remote-signer audit-verify --log FILE
// A thin shell over src/remote. Exit codes: 0 ok, 1 startup or runtime failure, 2 usage.

import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { runCli } from './run-cli.ts';
import { verifyChain } from '../audit/audit-chain.ts';
import { errorMessage, QbindError } from '../errors.ts';
import { createLogger } from '../log/logger.ts';
import { loadRemoteSignerConfig } from '../remote/daemon-config.ts';
import { startRemoteSigner, type RunningRemoteSigner } from '../remote/daemon.ts';
import { ensureDevnetSetup } from '../remote/devnet-setup.ts';
import { publicKeyFingerprint } from '../crypto/fingerprint.ts';

const NAME = 'qbind-remote-signer';

function fail(message: string): number {
  process.stderr.write(`${NAME}: ${message}\n`);
  return 1;
}

/** Runs until SIGINT or SIGTERM, then closes cleanly. */
async function serve(configPath: string, createStore: boolean, banner?: (s: RunningRemoteSigner) => void): Promise<number> {
  let running: RunningRemoteSigner;
  try {
    const config = loadRemoteSignerConfig(configPath);
    running = await startRemoteSigner(config, { logger: createLogger({ base: { component: 'remote-signer' } }), createProtectionStore: createStore });
  } catch (err) {
    return fail(`cannot start: ${errorMessage(err)}`);
  }
  banner?.(running);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  return 0;
}

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command(NAME)
    .description('QBIND remote signer daemon: ML-DSA-44 signing over KEMTLS with double-sign protection')
    .option('--config <path>', 'remote_signer.toml')
    .option('--init-protection-store', 'create the double-sign protection store (first start of this signer only)')
    .option('--check-config', 'validate the config file and exit')
    .exitOverride()
    .action(async (o: { config?: string; initProtectionStore?: boolean; checkConfig?: boolean }) => {
      if (!o.config) throw new QbindError('USAGE', '--config <path> is required (or use the devnet / audit-verify commands)');
      if (o.checkConfig) {
        const c = loadRemoteSignerConfig(o.config);
        process.stdout.write(`${o.config}: ok (${c.validators.length} validator(s), backend ${c.backendMode}, profile ${c.profile}, ${c.clients.length} client(s), listen ${c.listen.host}:${c.listen.port})\n`);
        return;
      }
      setCode(await serve(o.config, o.initProtectionStore ?? false));
    });
  program
    .command('devnet')
    .description('first run: create a DevNet signer deployment in --dir; then serve it (npm start)')
    .option('--dir <path>', 'folder for keys, configs and state', '.qbind/devnet')
    .option('--listen <addr>', 'listen address', '127.0.0.1:9443')
    .action(async (o: { dir: string; listen: string }) => {
      const setup = await ensureDevnetSetup(o.dir, o.listen);
      if (setup.created) process.stdout.write(`created a DevNet signer deployment in ${setup.dir}\n`);
      setCode(
        await serve(setup.signerConfigPath, setup.created, (s) => {
          process.stdout.write(
            `qbind-remote-signer serving validator(s) ${s.validatorIds.join(', ')} on ${s.address.address}:${s.address.port} (KEMTLS, identity ${publicKeyFingerprint(s.identityPublicKey)})\n` +
              `  metrics: curl http://127.0.0.1:${s.address.port}/metrics   health: curl http://127.0.0.1:${s.address.port}/health\n` +
              `  sign from another terminal: bin/qbind-signer-client --config ${setup.clientConfigPath} vote\n` +
              `  stop with Ctrl-C\n`,
          );
        }),
      );
    });
  program
    .command('audit-verify')
    .description('verify the hash chain of an audit log; reports the first edited, deleted or inserted line')
    .requiredOption('--log <path>', 'audit log file')
    .action((o: { log: string }) => {
      let text: string;
      try {
        text = readFileSync(o.log, 'utf8');
      } catch (err) {
        throw new QbindError('AUDIT_UNREADABLE', `cannot read ${o.log}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
      }
      const v = verifyChain(text);
      if (!v.ok) throw new QbindError('AUDIT_CHAIN_BROKEN', `${o.log}: chain broken at line ${v.problem!.line}: ${v.problem!.reason} (${v.lines} lines)`);
      process.stdout.write(`${o.log}: ok, ${v.lines} lines, chain intact (head ${v.head.slice(0, 16)})\n`);
    });
  return program;
}

export function main(argv: string[]): Promise<number> {
  return runCli({ name: NAME, argv, build: buildProgram, usageCodes: new Set(['USAGE']) });
}
