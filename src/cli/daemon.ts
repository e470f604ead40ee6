// `tend daemon` and `tend boot`: run the server in the foreground, logging to stderr
// (stdout in a container is for the services that log there).

import type { Places } from "../places.js";
import { runServer } from "../server/server.js";

export async function daemon(places: Places, boot: boolean): Promise<number> {
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  return runServer({ places, boot, log });
}
