// Checks that a setting meant to NAME an environment variable (pin_env_var,
// --passphrase-env, --pin-env, ...) holds a variable name. Operators sometimes
// type the secret itself there; the error then says so without repeating the
// value, which may be a PIN or passphrase.

import { QbindError } from '../errors.ts';

const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isEnvVarName(text: string): boolean {
  return ENV_VAR_NAME.test(text);
}

/** Throws BAD_ENV_VAR_NAME (value not shown) unless `name` is a variable name. */
export function checkEnvVarName(name: string, setting: string): string {
  if (!ENV_VAR_NAME.test(name)) {
    throw new QbindError('BAD_ENV_VAR_NAME', `${setting} takes the NAME of an environment variable (letters, digits, _), e.g. QBIND_HSM_PIN; the value given is not one and is not shown, in case it is the secret itself`);
  }
  return name;
}
