// A dry run, from DESIGN.md's words: "A dry run steps a copy of the engine with the
// command's fact and reads the copy … The engine is untouched." Before every start,
// stop, restart and unwant of a history, the preview is asked: the engine's snapshot
// must be the same after it (on the graphs small enough to be checked thoroughly), and what it said must be what the real step then did —
// what it says stops is what was wanted and active and the step left unwanted, what it
// says starts is wanted after the step and was not on its way up, what it says
// restarts is what the step's `affected` names and was active. So the copy steps as
// the engine does, whatever the history made of its state.

import { isActive } from "../../../src/engine/engine.js";
import { preview, type Preview, type PreviewFact } from "../../../src/engine/preview.js";
import { snapshotOf } from "../../../src/engine/snapshot.js";
import type { Fact, Phase } from "../../../src/engine/types.js";
import type { Check, Sim } from "./check.js";

const previewed = (fact: Fact): fact is Fact & { kind: PreviewFact["kind"] } =>
  fact.kind === "start" || fact.kind === "stop" || fact.kind === "restart" || fact.kind === "unwant";

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");

export function previewChecks(sim: Sim): Check {
  const { world, fail, count } = sim;
  let said: Preview | null = null;
  let before = new Map<string, Phase>();
  let wantedBefore = new Set<string>();
  return {
    beforeStep(fact) {
      said = null;
      if (!previewed(fact)) return;
      const e = world.engine;
      // The engine compared whole, before and after: on the smaller graphs (`thorough`), as the other whole-state checks are.
      const snapshot = sim.thorough ? JSON.stringify(snapshotOf(e)) : null;
      said = preview(e, { ...fact, now: world.now });
      if (snapshot !== null && JSON.stringify(snapshotOf(e)) !== snapshot) fail(`the preview of ${fact.kind} ${fact.names.join(" ")} changed the engine`);
      before = new Map([...e.services].map(([n, s]) => [n, s.phase]));
      wantedBefore = new Set(e.wanted.keys());
    },
    afterStep(fact, actions) {
      if (said === null || !previewed(fact)) return;
      const e = world.engine;
      const active = (n: string): boolean => before.has(n) && isActive(before.get(n)!);
      const stopped = [...wantedBefore].filter((n) => active(n) && !e.wanted.has(n));
      const affected = actions.flatMap((a) => (a.kind === "affected" ? a.services : []));
      const what = `${fact.kind} ${fact.names.join(" ")}`;
      if (!same(said.stop, stopped)) fail(`the preview of ${what} said stop ${said.stop.join(" ")}; the step left unwanted ${stopped.join(" ")}`);
      const notWanted = said.start.filter((n) => !e.wanted.has(n));
      if (notWanted.length > 0) fail(`the preview of ${what} said start ${notWanted.join(" ")}, which the step did not want`);
      const restarted = fact.kind === "restart" ? affected.filter(active) : [];
      if (!same(said.restart, restarted)) fail(`the preview of ${what} said restart ${said.restart.join(" ")}; the step bounced ${restarted.join(" ")}`);
      count(said.start.length + said.stop.length + said.restart.length > 0 ? "preview checked" : "preview checked (nothing)");
    },
  };
}
