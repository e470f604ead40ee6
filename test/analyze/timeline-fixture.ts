// Recorded boots for the plot's tests: one a real server recorded (example-boot.json),
// and boots of any database made as the server would record them: each
// service of the boot plan asked at the boot's fact, starting once everything it is
// ordered after is ready, spawned, then up (a task: running, then down) after a time
// of its own; a crashing one restarted after its delay until its limit fails it.
// Deterministic (seeded), in the shape of src/analyze/timeline.ts.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "../../src/compile/database.js";
import type { ResolvedGraph } from "../../src/compile/graph.js";
import type { Span, Timeline, Transition } from "../../src/analyze/timeline.js";
import { REPO, random } from "../helpers.js";

/**
 * The boot of the example set as a real server recorded it: `tend --json analyze` after
 * `tend boot` of examples/ (its demo.env given a free port) in a temporary root — the
 * timeline with the server's graph. `flaky` fails at its restart limit.
 */
export function recordedExampleBoot(): Timeline & { graph: ResolvedGraph } {
  return JSON.parse(readFileSync(join(REPO, "test/analyze/example-boot.json"), "utf8")) as Timeline & { graph: ResolvedGraph };
}

export interface BootOptions {
  /** How long each service takes from its spawn to ready (ms); unnamed ones a seeded 5–400 ms. */
  takes?: Record<string, number>;
  /** Services whose main exits before it is ready, each time, until the restart limit of 3. */
  crashing?: string[];
  seed?: number;
  at?: number;
}

/** The boot of `db`'s boot plan, as its timeline records it. */
export function bootTimeline(db: Pick<Database, "boot" | "services" | "graph">, options: BootOptions = {}): Timeline {
  const rng = random(options.seed ?? 1);
  const t0 = options.at ?? Date.UTC(2026, 11, 2, 9, 0, 0);
  const transitions: Transition[] = [];
  const services = db.boot.flat();
  const members = new Set(services);
  for (const s of services) transitions.push({ at: t0, service: s, kind: "asked", command: "boot" });
  const ready = new Map<string, number>();
  let complete = t0;
  for (const s of services) {
    const def = db.services[s]!;
    const task = def.type === "task";
    const needs = db.graph.services[s]!.after.filter((d) => members.has(d));
    let at = Math.max(t0, ...needs.map((d) => ready.get(d) ?? t0)) + 0.3;
    transitions.push({ at, service: s, kind: "phase", phase: task ? "running" : "starting", reason: null });
    const role = def.type === "oneshot" ? "up" : "main";
    const takes = options.takes?.[s] ?? rng.int(5, 400);
    if (options.crashing?.includes(s)) {
      for (let restarts = 0; restarts < 3; restarts++) {
        transitions.push({ at: at + 0.2, service: s, kind: "spawn", role });
        at += takes;
        transitions.push({ at, service: s, kind: "phase", phase: "starting", reason: `restarting in 0.1s (${restarts + 1} recent restarts)` });
        at += 100;
      }
      transitions.push({ at: at + 0.2, service: s, kind: "spawn", role });
      at += takes;
      transitions.push({ at, service: s, kind: "phase", phase: "failed", reason: "restart limit hit: 3 restarts within 30s; last exited with status 3" });
      continue;
    }
    transitions.push({ at: at + 0.2, service: s, kind: "spawn", role });
    const done = at + 0.2 + takes;
    transitions.push(task ? { at: done, service: s, kind: "phase", phase: "down", reason: null } : { at: done, service: s, kind: "phase", phase: "up", reason: null });
    ready.set(s, done);
    complete = Math.max(complete, done);
  }
  transitions.sort((a, b) => a.at - b.at);
  const span: Span = { kind: "boot", names: ["default"], at: t0, services, completeAt: complete, transitions, dropped: 0 };
  return { version: 1, boot: span, start: null, transitions: transitions.slice(-2000), dropped: Math.max(0, transitions.length - 2000) };
}
