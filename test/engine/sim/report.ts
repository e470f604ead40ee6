// What a run leaves: a digest over every fact and the actions it produced (equal for
// equal scenarios), how often each kind of fact, action and change happened (what the
// run covered), the last steps for a failure's report, and the facts and actions in
// words.

import { createHash } from "node:crypto";
import { instanceName } from "../../../src/config/template.js";
import type { Action, Fact } from "../../../src/engine/types.js";
import type { Observer, World } from "./world.js";

/** The service (or instance) a job event is about: an instance's come under its template's name, with INSTANCE. */
export const jobOf = (o: { service: string; values: Readonly<Record<string, string>> }): string =>
  o.values.INSTANCE === undefined ? o.service : instanceName(o.service, o.values.INSTANCE);

export function showFact(f: Fact): string {
  switch (f.kind) {
    case "start":
    case "stop":
    case "restart":
    case "unwant":
      return `${f.kind} ${f.names.join(" ")}`;
    case "boot":
      return `boot ${f.names.join(" ")}${f.policy.exitWith === null ? "" : ` exit-with ${f.policy.exitWith}`} on-boot-failure ${f.policy.onBootFailure}`;
    case "shutdown":
      return "shutdown";
    case "apply":
      return `apply ${f.db.digest}`;
    case "spawned":
      return `spawned ${f.service} ${f.pid}`;
    case "spawn-failed":
      return `spawn-failed ${f.service}`;
    case "ready":
      return `ready ${f.service} ${f.pid}`;
    case "exited":
      return `exited ${f.service} ${f.pid} ${f.status.signal ?? f.status.code}`;
    case "timer":
      return `timer ${f.service} #${f.token}`;
    case "adopted":
      return `adopted ${f.service} ${f.process === null ? "-" : `${f.process.role} ${f.process.pid}${f.process.ready ? " ready" : ""}`}${f.exit === null ? "" : ` exit ${f.exit.pid}`}`;
    case "event":
      return `event ${f.name} ${JSON.stringify(f.values)}`;
    case "level":
      return `level ${f.name}=${f.value}`;
    case "scheduled":
      return `scheduled ${f.service}`;
    case "signal":
      return `signal ${f.service} ${f.signal}${f.to === "main" ? " main" : ""}`;
    case "reload":
      return `reload ${f.names.join(" ")}`;
    case "reload-spawned":
      return `reload-spawned ${f.service} ${f.pid}`;
    case "reload-spawn-failed":
      return `reload-spawn-failed ${f.service}`;
    case "reload-exited":
      return `reload-exited ${f.service} ${f.pid} ${f.status.signal ?? f.status.code}`;
    case "reloading":
    case "reloaded":
      return `${f.kind} ${f.service} ${f.pid}`;
    case "main-pid":
      return `main-pid ${f.service} ${f.pid}`;
    case "main-pid-refused":
      return `main-pid-refused ${f.service} ${f.pid}`;
  }
}

export function showAction(a: Action): string {
  switch (a.kind) {
    case "spawn":
      return `spawn ${a.service} ${a.role}`;
    case "signal":
      return `signal ${a.service} ${a.pid} ${a.signal}${a.to === "group" ? "" : ` to ${a.to}`}`;
    case "kill":
      return `kill ${a.service}`;
    case "find-main":
      return `find-main ${a.service}`;
    case "arm":
      return `arm ${a.service} #${a.token} ${a.ms}ms ${a.purpose}`;
    case "changed":
      return `${a.service}→${a.phase}${a.reason === null ? "" : ` (${a.reason})`}`;
    case "delay":
      return `delay ${a.service} ${a.ms}ms`;
    case "affected":
      return `affected by ${a.command}: ${a.services.join(" ")}`;
    case "switched":
      return `switched to ${a.db.digest} (removed ${a.removed.join(" ") || "-"}; changed ${a.changed.join(" ") || "-"})`;
    case "occurred": {
      const w = a.what;
      const what = w.kind === "job" ? `${w.verb} ${jobOf(w)}` : "service" in w ? `${w.kind} ${w.service}` : `${w.kind} ${w.name}${w.kind === "level" ? `=${w.value}` : ""}`;
      const list = (label: string, names: string[]): string => (names.length > 0 ? ` ${label} ${names.join(",")}` : "");
      return `occurred ${what}${list("started", a.started)}${list("skipped", a.skipped)}${list("stopped", a.stopped)}`;
    }
  }
}

/** The key an action is counted under: what kind of thing happened, without the names and times. */
function countKey(a: Action): string {
  switch (a.kind) {
    case "changed":
      return `→${a.phase} ${(a.reason ?? "").replace(/[0-9]+m?s|s[0-9]{4}|\([^)]*\)/g, "").trim()}`;
    case "spawn":
      return `spawn ${a.role}`;
    case "arm":
      return `arm ${a.purpose}`;
    case "signal":
      return `signal ${a.to === "group" ? (a.signal === "SIGKILL" ? "SIGKILL" : "stop") : `${a.to} ${a.signal === "SIGKILL" ? "SIGKILL" : "other"}`}`;
    default:
      return a.kind;
  }
}

export interface Recorder extends Observer {
  readonly counts: Map<string, number>;
  count(key: string): void;
  digest(): string;
  /** The failure's report: what broke, how to replay it, the last steps (every step with `trace`). */
  report(message: string, replay: string): string;
}

/** Records every step of `world`; keeps the last `keep` of them for the report. */
export function recorder(world: World, keep: number): Recorder {
  const hash = createHash("sha256");
  const counts = new Map<string, number>();
  const recent: string[] = [];
  const count = (key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1);
  return {
    counts,
    count,
    digest: () => hash.copy().digest("hex"),
    stepped(fact, actions) {
      const line = `${world.now} ${showFact(fact)} => ${actions.map(showAction).join("; ") || "-"}`;
      hash.update(line);
      hash.update("\n");
      recent.push(line);
      if (recent.length > keep) recent.shift();
      count(`fact ${fact.kind}`);
      for (const a of actions) count(countKey(a));
    },
    report(message, replay) {
      return [
        `engine simulation failed: ${message}`,
        `  replay: ${replay}   (t=${world.now}, step ${world.steps})`,
        `  last facts => actions:`,
        ...recent.map((line) => `    ${line.length > 400 && keep <= 30 ? `${line.slice(0, 400)} …` : line}`),
        ...(keep > 30 ? stateDump(world) : []),
      ].join("\n");
    },
  };
}

/** With a trace: every service's state at the failure, and the pending bounce groups. */
function stateDump(world: World): string[] {
  const e = world.engine;
  return [
    "  state at the failure:",
    ...e.topo.names.map((n) => {
      const s = e.services.get(n)!;
      const edges = (m: ReadonlyMap<string, readonly string[]>): string => (m.get(n) ?? []).join(",");
      const flags = `${s.held ? " held" : ""}${e.wanted.has(n) ? " wanted" : ""}${e.stopped.has(n) ? " stopped" : ""}${e.triggered.has(n) ? " triggered" : ""}`;
      return `    ${n} ${e.defs.get(n)?.type ?? "?"} ${s.phase}${flags} reason=${s.reason} requires=[${edges(e.topo.requires)}] after=[${edges(e.topo.after)}]`;
    }),
    `  bounces: ${e.bounces.map((g) => `{${[...g].join(",")}}`).join(" ")}`,
    `  pending apply: ${e.pendingApply === null ? "-" : `${e.pendingApply.db.digest}, leaving ${[...e.pendingApply.leaving].join(",")}`}`,
  ];
}
