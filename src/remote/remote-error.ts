// Errors of the remote signer daemon and client that are not signing refusals:
// bad wire frames and bad daemon configuration.

import { QbindError } from '../errors.ts';

export class WireError extends QbindError {
  constructor(message: string) {
    super('BAD_FRAME', message);
  }
}

export class RemoteConfigError extends QbindError {
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super('BAD_CONFIG', `${source}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}
