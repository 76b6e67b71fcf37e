// ConfigError: every problem reading a node configuration (a bad flag, a bad
// value, an unknown key in node.toml, an unreadable file) and every refusal of
// the signer factory. Messages name the flag or key and the value; values of
// secret settings are never put in them (there are none: passphrases and PINs
// are only ever named by the variable or file that holds them).

import { QbindError } from '../errors.ts';

export type ConfigErrorCode =
  | 'UNKNOWN_FLAG' // a command-line flag this command does not know
  | 'MISSING_VALUE' // a flag given without its value
  | 'DUPLICATE_SETTING' // the same setting given twice with different values
  | 'BAD_VALUE' // a value of the wrong type, form or range
  | 'UNEXPECTED_ARGUMENT' // a positional argument
  | 'UNKNOWN_KEY' // a node.toml key this version does not know
  | 'CONFIG_FILE_UNREADABLE'
  | 'CONFIG_FILE_INVALID' // not TOML, or the wrong shape
  | 'SIGNER_CONFIG_INCOMPLETE' // the signer mode lacks a setting it needs
  | 'SIGNER_MODE_FORBIDDEN' // the mode is not allowed on this network (design doc §6.1)
  | 'FAILURE_MODE_FORBIDDEN' // log-and-continue where exit-on-failure is required (runbook §6.3)
  | 'SIGNER_NOT_AVAILABLE'; // the mode's backend is not in this build

export class ConfigError extends QbindError {
  declare readonly code: ConfigErrorCode;

  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
