// Errors a user can act on: printed as `tend: message`, never as a stack trace.

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Runs `body`; a system error (EACCES, ENOSPC …) or a place tend cannot use becomes a
 * UserError saying what could not be done: an admin can act on it, a stack helps nobody.
 */
export function orUserError<T>(what: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof Error && ("code" in e || e.name === "PlaceError")) throw new UserError(`${what}: ${e.message}`);
    throw e;
  }
}

/** A command typed wrongly: `tend: MESSAGE`, then the command's usage line (the global one without a command), exit 2. */
export class UsageError extends UserError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message, 2);
  }
}
