// `tend daemon` and `tend boot`: run the server in the foreground, logging to stderr
// (stdout in a container is for the services that log there). A stderr nobody reads
// any more (`tend boot | head`) loses the server's log lines, never the server.

import type { Places } from "../places.js";
import { runServer } from "../server/server.js";
import { keepRunningWithoutOutput, writable } from "./own-output.js";

export async function daemon(places: Places, boot: boolean, compile: boolean): Promise<number> {
  keepRunningWithoutOutput();
  // Under a keeper that runs it, its lines go through the keeper's console, which prefixes and stamps them.
  const console = process.env.TEND_CONSOLE === "1";
  delete process.env.TEND_CONSOLE;
  // The lines of one turn of the server (a mass start logs two per service) go out in one write.
  const pending: string[] = [];
  const flush = (): void => {
    if (writable(process.stderr)) process.stderr.write(pending.join(""));
    pending.length = 0;
  };
  const log = (line: string): void => {
    if (pending.length === 0) queueMicrotask(flush);
    pending.push(console ? `${line}\n` : `${new Date().toISOString()} ${line}\n`);
  };
  return runServer({ places, boot, log, compile });
}
