// qbind-signer-client: asks a remote signer for one signature, the way a node
// would, and verifies it (README quick start; runbook §10.2 diagnosis).
//   qbind-signer-client --config client.toml vote [--view N] [--block-hash HEX]
// Kinds: proposal, vote, timeout, batch, batch-ack. Exit codes: 0 signed and
// verified, 1 refused or failed, 2 usage.

import { createHash } from 'node:crypto';
import { Command } from 'commander';
import { runCli } from './run-cli.ts';
import { publicKeyFingerprint, suiteById, SUITE_ML_DSA_44, verifySignature } from '../crypto/index.ts';
import { QbindError } from '../errors.ts';
import { openIdentityKey, readPublicKeyFile } from '../keystore/index.ts';
import { createLogger } from '../log/logger.ts';
import { encodePreimage, MESSAGE_KINDS, type MessageKind, type Preimage } from '../preimage/index.ts';
import { loadSignerClientConfig } from '../remote/client-config.ts';
import { passphraseOf } from '../remote/toml-fields.ts';
import { createRemoteSignerClient } from '../remote/remote-signer-client.ts';
import { SignerFailureMode } from '../signer/validator-signer.ts';

const NAME = 'qbind-signer-client';

function hash32(hex: string | undefined, label: string): Uint8Array {
  if (hex === undefined) return createHash('sha3-256').update(label).digest();
  const h = hex.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new QbindError('USAGE', '--block-hash must be 32 bytes of hex');
  return Buffer.from(h, 'hex');
}

function preimageFor(kind: MessageKind, chainId: bigint, id: bigint, view: bigint, blockHash?: string): Preimage {
  switch (kind) {
    case 'proposal': return { kind, chainId, view, blockHash: hash32(blockHash, `block-${view}`), proposerId: id, parentHash: hash32(undefined, `block-${view - 1n}`), justifyQcView: view - 1n };
    case 'vote': return { kind, chainId, view, blockHash: hash32(blockHash, `block-${view}`), voterId: id };
    case 'timeout': return { kind, chainId, view, highQcHash: hash32(undefined, `qc-${view - 1n}`), voterId: id, highQcView: view - 1n };
    case 'batch': return { kind, chainId, authorId: id, round: view, batchDigest: hash32(blockHash, `batch-${view}`) };
    case 'batch-ack': return { kind, chainId, ackerId: id, batchAuthorId: id, batchRound: view, batchDigest: hash32(blockHash, `batch-${view}`) };
  }
}

async function run(kind: MessageKind, o: { config: string; view?: string; blockHash?: string }): Promise<number> {
  const config = loadSignerClientConfig(o.config);
  if (o.view !== undefined && !/^[1-9][0-9]{0,18}$/.test(o.view)) throw new QbindError('USAGE', '--view must be a positive integer');
  // Default view: the current second, so that repeated demo runs ask for new views.
  const view = o.view !== undefined ? BigInt(o.view) : BigInt(Math.floor(Date.now() / 1000));
  const identity = await openIdentityKey(config.identityKeystorePath, { passphrase: passphraseOf(config, config.profile), profile: config.profile });
  const signer = createRemoteSignerClient({
    url: config.signerUrl,
    validatorId: config.validatorId,
    identity,
    signerPublicKey: config.signerPublicKey,
    requestTimeoutMs: config.requestTimeoutMs,
    failureMode: SignerFailureMode.LogAndContinue,
    failureHooks: { log: () => undefined },
    logger: createLogger({ level: 'warn' }),
  });
  const preimage = encodePreimage(preimageFor(kind, config.chainId, config.validatorId, view, o.blockHash));
  const started = performance.now();
  try {
    const signature = await signer.sign(kind, preimage);
    const ms = (performance.now() - started).toFixed(1);
    process.stdout.write(`${kind} view ${view}: signature ${signature.length} bytes in ${ms} ms from ${config.signerUrl}\n`);
    if (config.consensusPublicKeyPath) {
      const pub = readPublicKeyFile(config.consensusPublicKeyPath);
      const ok = verifySignature(suiteById(SUITE_ML_DSA_44), pub.publicKey, preimage, signature);
      process.stdout.write(`verify under ${config.consensusPublicKeyPath} (validator ${pub.validatorId}, ${publicKeyFingerprint(pub.publicKey)}): ${ok ? 'ok' : 'FAILED'}\n`);
      if (!ok) return 1;
    }
    return 0;
  } finally {
    await signer.close();
  }
}

function buildProgram(setCode: (code: number) => void): Command {
  return new Command(NAME)
    .description('ask a qbind-remote-signer for a signature over KEMTLS and verify it')
    .requiredOption('--config <path>', 'client.toml')
    .option('--view <n>', 'view (or DAG round); default: the current unix second')
    .option('--block-hash <hex>', 'block hash / batch digest (default: derived from the view)')
    .argument('<kind>', `message kind: ${MESSAGE_KINDS.join(', ')}`)
    .exitOverride()
    .action(async (kind: string, o: { config: string; view?: string; blockHash?: string }) => {
      if (!(MESSAGE_KINDS as readonly string[]).includes(kind)) throw new QbindError('USAGE', `unknown kind '${kind}' (known: ${MESSAGE_KINDS.join(', ')})`);
      setCode(await run(kind as MessageKind, o));
    });
}

export function main(argv: string[]): Promise<number> {
  return runCli({ name: NAME, argv, build: buildProgram, usageCodes: new Set(['USAGE']) });
}
