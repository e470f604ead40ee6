// `tend logs`: one service's log, several merged in time order (`-u NAME` repeated, a
// bundle), or every service's; a time range (`--since`, `--until`); `-f` follows them.

import type { Places } from "../places.js";
import { request } from "./client.js";
import type { Output } from "./output.js";

export interface LogsOptions {
  /** Services or bundles; none: every service. */
  names: string[];
  /** How many of the last lines; undefined: the server's default (20, or all of a time range). */
  lines: number | undefined;
  follow: boolean;
  /** ms since the epoch. */
  since: number | undefined;
  until: number | undefined;
}

export async function logs(places: Places, out: Output, options: LogsOptions): Promise<number> {
  const { names, lines, follow, since, until } = options;
  const which = names.length === 1 ? { name: names[0]! } : names.length > 1 ? { names } : {};
  const range = { ...(lines === undefined ? {} : { lines }), ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
  await request(places, { cmd: "logs", ...which, ...range, follow }, (reply) => {
    if (!("line" in reply)) return;
    const { line, service } = reply;
    if (out.json) return out.line(JSON.stringify(service === undefined ? { line } : { service, line }));
    // One service asked for by name needs no name on its lines; a merge does.
    if (service === undefined || service === which.name) return out.line(line);
    const blank = line.indexOf(" ");
    out.line(blank < 0 ? `${service}: ${line}` : `${line.slice(0, blank)} ${service}: ${line.slice(blank + 1)}`);
  });
  return 0;
}
