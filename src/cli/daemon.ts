// `tend daemon` and `tend boot`: run the server in the foreground, logging to stderr
// (stdout in a container is for the services that log there). A stderr nobody reads
// any more (`tend boot | head`) loses the server's log lines, never the server. The
// exit status is the server's: 0, or how the boot ended (`--exit-with`), which the
// keeper, as a container's PID 1, exits with in turn.

import type { Places } from "../places.js";
import type { GivenSettings } from "../server/run-settings.js";
import { runServer } from "../server/server.js";
import { keepRunningWithoutOutput, writeErr } from "./own-output.js";

export { parseRunFlags } from "../server/run-settings.js";

export async function daemon(places: Places, boot: boolean, settings: GivenSettings): Promise<number> {
  keepRunningWithoutOutput();
  // Under a keeper that runs it, its lines go through the keeper's console, which prefixes and stamps them.
  const console = process.env.TEND_CONSOLE === "1";
  delete process.env.TEND_CONSOLE;
  // The lines of one turn of the server (a mass start logs two per service) go out in one write.
  const pending: string[] = [];
  const flush = (): void => {
    writeErr(pending.join("")); // dropped once nobody reads it
    pending.length = 0;
  };
  const log = (line: string): void => {
    if (pending.length === 0) queueMicrotask(flush);
    pending.push(console ? `${line}\n` : `${new Date().toISOString()} ${line}\n`);
  };
  return runServer({ places, boot, settings, log });
}
