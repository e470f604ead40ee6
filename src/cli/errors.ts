// Errors a user can act on: printed as `tend: message`, never as a stack trace.

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
