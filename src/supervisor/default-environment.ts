// The environment every service starts from: tend.env, beside tend.conf (systemd's
// DefaultEnvironment). Its format is the env-file's. It is read again whenever it has
// changed (one stat at each start tells), so an edit takes effect at a service's next
// start, as an env-file's does. A bad line is left out and reported once, as FILE:LINE,
// in the server's log and `tend status`: the other lines still apply, and every
// service still starts. What it sets reaches every service (LD_PRELOAD too), so, like
// tend.conf, a file that another user owns or may write is not used at all.

import { statSync } from "node:fs";
import { setByTend } from "../config/values.js";
import { nameRecord } from "../records.js";
import { BoundedReadError, readRegularFile } from "../system/bounded-read.js";
import { MAX_ENV_FILE_BYTES, parseEnvFile } from "./environment.js";

export interface DefaultEnvironment {
  /** The variables the file sets now (none when there is no file). */
  current(): Readonly<Record<string, string>>;
  /** What is wrong with the file as last read. */
  problems(): readonly string[];
}

/** Set for each service from its user: the file may not give them to all. */
const PER_SERVICE: ReadonlySet<string> = new Set(["HOME", "USER", "LOGNAME"]);

/** `serverUid` runs the server: the file must be its alone. `log` gets each problem once, when the file is read. */
export function defaultEnvironment(path: string, serverUid: number, log: (line: string) => void): DefaultEnvironment {
  let seen: string | null = null;
  let env: Readonly<Record<string, string>> = nameRecord();
  let problems: string[] = [];

  const read = (): void => {
    ({ env, problems } = readDefaults(path, serverUid));
    for (const p of problems) log(p);
  };
  return {
    current() {
      const identity = identityOf(path);
      if (identity !== seen) {
        seen = identity;
        read();
      }
      return env;
    },
    problems: () => problems,
  };
}

/** What tells that the file changed: which file it is, its size and times (a missing file is "missing"). */
function identityOf(path: string): string {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `error ${(e as NodeJS.ErrnoException).code}`;
  }
}

function readDefaults(path: string, serverUid: number): { env: Record<string, string>; problems: string[] } {
  const env = nameRecord<string>();
  let text: string;
  try {
    const vet = (st: { uid: number; mode: number }): string | null =>
      st.uid === serverUid && (st.mode & 0o022) === 0
        ? null
        : `owned by uid ${st.uid} with mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}: it must be owned by uid ${serverUid} and writable by no one else`;
    text = readRegularFile(path, MAX_ENV_FILE_BYTES, vet).toString("utf8");
  } catch (e) {
    if (!(e instanceof BoundedReadError)) throw e;
    if (e.code === "ENOENT") return { env, problems: [] };
    return { env, problems: [`${path}: error: ${e.message}; not used: services start without it`] };
  }
  const parsed = parseEnvFile(text);
  const problems = parsed.errors.map((e) => `${path}:${e.line}: error: ${e.message}; that line is left out`);
  for (const { name, value, line } of parsed.assignments) {
    if (setByTend(name)) problems.push(`${path}:${line}: error: '${name}' is set by tend itself; that line is left out`);
    else if (PER_SERVICE.has(name)) problems.push(`${path}:${line}: error: '${name}' is set for each service from its user; that line is left out`);
    else env[name] = value;
  }
  return { env, problems };
}
