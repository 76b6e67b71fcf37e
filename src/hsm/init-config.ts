// `qbind-hsm init`: checks a PKCS#11 library, token, login and (if it exists
// already) key against what the operator named, then writes hsm.toml in the
// flat form of design doc §3.5 — atomically, never over an existing file
// unless forced. The token is recorded by label (slot ids can change when
// tokens are added); the PIN only as the name of its environment variable.

import { dirname } from 'node:path';
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../fsutil/atomic-write.ts';
import type { Logger } from '../log/logger.ts';
import { loadHsmConfig, renderFlatConfig, type HsmConfig } from './config.ts';
import { HsmError, type HsmErrorCode } from './hsm-error.ts';
import type { HsmKeyType } from './key-types.ts';
import type { Pkcs11Api } from './pkcs11-api.ts';
import { hsmStatus, type StatusReport } from './status.ts';

export interface InitOptions {
  configPath: string;
  libraryPath: string;
  tokenLabel?: string;
  slotId?: number;
  keyLabel: string;
  pinEnvVar: string;
  keyType?: HsmKeyType;
  mechanism?: number;
  /** Replace an existing config file. */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  api?: Pkcs11Api;
}

export interface InitResult {
  config: HsmConfig;
  text: string;
  report: StatusReport;
}

export async function initHsmConfig(o: InitOptions): Promise<InitResult> {
  const draft: HsmConfig = {
    path: o.configPath,
    form: 'flat',
    libraryPath: o.libraryPath,
    tokenLabel: o.tokenLabel,
    slotId: o.slotId,
    pinEnvVar: o.pinEnvVar,
    keys: [{ name: 'consensus', label: o.keyLabel, keyType: o.keyType, mechanism: o.mechanism }],
  };
  const { report, provider } = await hsmStatus(draft, { env: o.env, logger: o.logger, api: o.api, keyMayBeMissing: true });
  await provider?.close();
  const failed = report.checks.find((c) => !c.ok);
  if (failed || !report.token) {
    const code = (failed?.code ?? 'HSM_TOKEN_NOT_FOUND') as HsmErrorCode;
    throw new HsmError(code, `not writing ${o.configPath}: ${failed?.name ?? 'token'} check failed: ${failed?.detail ?? 'no token'}`);
  }
  const text = renderFlatConfig({ libraryPath: o.libraryPath, tokenLabel: report.token.label, keyLabel: o.keyLabel, pinEnvVar: o.pinEnvVar, keyType: o.keyType, mechanism: o.mechanism });
  mkdirSync(dirname(o.configPath), { recursive: true, mode: 0o755 });
  writeFileAtomic(o.configPath, text, { mode: 0o640, overwrite: o.force ?? false });
  return { config: loadHsmConfig(o.configPath), text, report };
}
