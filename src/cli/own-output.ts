// tend's own stdout and stderr when writing them fails: EPIPE (a reader that went away,
// as in `tend list | head -1`), EIO (a terminal that closed), EAGAIN. A command ends
// quietly; the server (`daemon`, `boot`) never ends for it: it drops its own output
// and goes on, since what it supervises does not depend on anyone reading its log.

let keepRunning = false;
const failed = new Set<NodeJS.WriteStream>();

export function watchOwnOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      failed.add(stream);
      if (keepRunning) return;
      if (e.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
      throw e;
    });
  }
}

/** From now on, a failed stdout or stderr is dropped, and the process goes on. */
export function keepRunningWithoutOutput(): void {
  keepRunning = true;
}

/** Whether `stream` still takes what is written to it. */
export const writable = (stream: NodeJS.WriteStream): boolean => !failed.has(stream) && !stream.destroyed;
