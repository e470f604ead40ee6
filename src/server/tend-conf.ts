// tend.conf: the server's own settings, in the `key = value` syntax of service files
// (docs/protocol.md, "tend.conf"): the control group, and the run settings that the
// flags of `tend boot` may override (run-settings.ts). Read once when the server
// starts. A file with any error is not used at all: the server runs with the safe
// defaults and says why.

import { lstatSync, readFileSync } from "node:fs";
import { collector, didYouMean, formatDiagnostic } from "../config/diagnostics.js";
import { lex } from "../config/lexer.js";
import { parseRunSetting, RUN_KEYS, type GivenSettings } from "./run-settings.js";

export interface ServerConfig {
  /** Members of this group may do over control.sock all that root may (the socket is 0660 root:GROUP). */
  controlGroup: string | null;
  /** The run settings the file gives (`exit-with`, `on-boot-failure`, `stop-grace`, `log-format`, `service-logs`, `syslog`). */
  run: GivenSettings;
}

export const DEFAULT_CONFIG: ServerConfig = { controlGroup: null, run: {} };

export interface LoadedConfig {
  config: ServerConfig;
  /** `FILE:LINE:COL: error: …` lines; when there are any, `config` is the default. */
  problems: string[];
}

const GROUP = /^([a-z_][a-z0-9_.-]{0,31}|\d+)$/i;
const KEYS = ["control-group", ...RUN_KEYS];

/**
 * `serverUid` is who runs the server: a file another user owns or may write would let
 * that user grant themselves control, so it is refused as sshd's StrictModes would.
 */
export function readServerConfig(path: string, serverUid: number): LoadedConfig {
  let bytes: Buffer;
  try {
    const stat = lstatSync(path);
    if (!stat.isFile()) return refused(`${path}: error: not a regular file; ignored`);
    if (stat.uid !== serverUid || (stat.mode & 0o022) !== 0) {
      return refused(`${path}: error: owned by uid ${stat.uid} with mode ${(stat.mode & 0o777).toString(8).padStart(4, "0")}: it must be owned by uid ${serverUid} and writable by no one else; ignored`);
    }
    bytes = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { config: DEFAULT_CONFIG, problems: [] };
    return refused(`${path}: error: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ignored`);
  }
  // Only comments (or nothing): the defaults, without the lexer's "no settings" error for service files.
  if (bytes.toString("utf8").split("\n").every((l) => l.trim() === "" || l.trimStart().startsWith("#"))) return { config: DEFAULT_CONFIG, problems: [] };
  const { diagnostics, report } = collector();
  const config: ServerConfig = { controlGroup: null, run: {} };
  const seen = new Set<string>();
  for (const entry of lex(path, bytes, report)) {
    const at = entry.keyAt;
    if (!KEYS.includes(entry.key)) {
      report("error", at, `unknown key '${entry.key}'${didYouMean(entry.key, KEYS)}; tend.conf knows ${KEYS.join(", ")}`);
      continue;
    }
    if (seen.has(entry.key)) {
      report("error", at, `'${entry.key}' is set twice`);
      continue;
    }
    seen.add(entry.key);
    if (entry.key === "control-group") {
      if (GROUP.test(entry.value)) config.controlGroup = entry.value;
      else report("error", entry.at(0), `'${entry.value}' is not a group name or number`);
      continue;
    }
    const run = parseRunSetting(entry.key, entry.value)!;
    if (run.ok) Object.assign(config.run, run.given);
    else report("error", entry.at(0), run.message);
  }
  const errors = diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
  return errors.length > 0 ? { config: DEFAULT_CONFIG, problems: errors } : { config, problems: [] };
}

const refused = (problem: string): LoadedConfig => ({ config: DEFAULT_CONFIG, problems: [problem] });
