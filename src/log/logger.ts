// A small structured logger: one line per event on stderr (text for a
// terminal, JSON when QBIND_LOG_FORMAT=json), level from QBIND_LOG_LEVEL.
// Callers pass fields, never secrets; values named like secrets are redacted
// as a second line of defence.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | bigint | boolean | null | undefined>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_NAME = /pass(word|phrase)?|pin|secret|private|seed/i;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'text' | 'json';
  write?: (line: string) => void;
  base?: LogFields;
}

function render(v: LogFields[string]): string | number | boolean | null {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? ((process.env.QBIND_LOG_LEVEL as LogLevel | undefined) ?? 'info');
  const format = options.format ?? (process.env.QBIND_LOG_FORMAT === 'json' ? 'json' : 'text');
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const min = LEVELS[level] ?? LEVELS.info;
  const base = options.base ?? {};

  const emit = (lvl: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (LEVELS[lvl] < min) return;
    const all: Record<string, string | number | boolean | null> = {};
    for (const [k, v] of Object.entries({ ...base, ...fields })) all[k] = SECRET_NAME.test(k) ? '[redacted]' : render(v);
    const ts = new Date().toISOString();
    if (format === 'json') write(JSON.stringify({ ts, level: lvl, msg, ...all }));
    else write(`${ts} ${lvl.toUpperCase().padEnd(5)} ${msg}${Object.entries(all).map(([k, v]) => ` ${k}=${v}`).join('')}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ level, format, write, base: { ...base, ...fields } }),
  };
}
