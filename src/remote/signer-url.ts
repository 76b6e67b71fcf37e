// Parses the remote signer address a node is configured with:
// `kemtls://host:port` (runbook §3.5) or plain `host:port` (design doc §6.4).

import { QbindError } from '../errors.ts';

export interface SignerAddress {
  host: string;
  port: number;
}

export function parseSignerUrl(text: string): SignerAddress {
  const t = text.trim();
  const m = /^(?:kemtls:\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(t);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new QbindError('BAD_SIGNER_URL', `invalid remote signer address '${text}': expected kemtls://host:port or host:port`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Parses a listen address `host:port`; port 0 picks a free port. */
export function parseListenAddr(text: string): SignerAddress {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new QbindError('BAD_LISTEN_ADDR', `invalid listen address '${text}': expected host:port, e.g. 0.0.0.0:9443`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
