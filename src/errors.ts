// Base error type: every error this package throws on purpose carries a stable
// machine-readable code (for exit codes, metrics labels and tests) and a message
// written for an operator. Messages never contain secrets; callers build them
// only from names, sizes and public values.

export class QbindError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `err` is a QbindError with the given code (or any code if omitted). */
export function isQbindError(err: unknown, code?: string): err is QbindError {
  return err instanceof QbindError && (code === undefined || err.code === code);
}

/** Message of any thrown value, for logs; never includes a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
