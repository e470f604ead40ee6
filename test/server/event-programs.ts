// Programs and log readers shared by the event and schedule tests (events.test.ts,
// schedules.test.ts): a task that records when it ran and with which environment.

import assert from "node:assert/strict";
import { readLines, type TestRoot } from "./harness.js";

/**
 * `sh task.sh TAG LOG SECONDS [VAR…]`: appends `start TAG NS VAR=VALUE…` (tab-separated,
 * so that values may hold blanks), sleeps SECONDS (0: not at all), appends `end TAG NS`.
 * NS is `date +%s%N`, as the harness's longrun writes it.
 */
const TASK = `#!/bin/sh
tag=$1 log=$2 seconds=$3
shift 3
line="start	$tag	$(date +%s%N)"
for v in "$@"; do line="$line	$v=$(printenv "$v")"; done
echo "$line" >> "$log"
[ "$seconds" = 0 ] || sleep "$seconds"
echo "end	$tag	$(date +%s%N)" >> "$log"
`;

export interface TaskRecord {
  what: "start" | "end";
  tag: string;
  ns: bigint;
  env: Record<string, string>;
}

export interface TaskProgram {
  /** The records' file. */
  log: string;
  /** A `command =` line running the recorder: `tag` names the run, `vars` the environment to record. */
  command(tag: string, seconds: number, ...vars: string[]): string;
  records(): TaskRecord[];
  starts(tag: string): TaskRecord[];
  ends(tag: string): TaskRecord[];
}

export function taskProgram(root: TestRoot, log = root.path("tasks.log")): TaskProgram {
  const script = root.file("task.sh", TASK);
  const records = (): TaskRecord[] =>
    readLines(log).map((line) => {
      const [what, tag, ns, ...vars] = line.split("\t");
      assert.ok(what === "start" || what === "end", `a bad record: ${line}`);
      const env = Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)]));
      return { what, tag: tag!, ns: BigInt(ns!), env };
    });
  return {
    log,
    command: (tag, seconds, ...vars) => `command = sh ${script} ${tag} ${log} ${seconds} ${vars.join(" ")}\n`,
    records,
    starts: (tag) => records().filter((r) => r.what === "start" && r.tag === tag),
    ends: (tag) => records().filter((r) => r.what === "end" && r.tag === tag),
  };
}

/** ns (as `date +%s%N` writes) → ms, for messages. */
export const ms = (ns: bigint): number => Number(ns / 1_000_000n);
