// The boot's invariant (g): the end is recorded once, in the step of its cause, with
// the status that cause gives (0 for a shutdown; the exit-with service's status, or 1;
// 1 for a boot failure), starts the shutdown and never changes; nothing waits to
// restart after it; a boot is complete exactly when every service of it still wanted
// has been up.

import type { Action, End, ExitStatus, Fact } from "../../../src/engine/types.js";
import type { Check, Sim } from "./check.js";
import { isSuccess } from "./processes.js";
import { showFact } from "./report.js";

/** The status a shell gives a process's end: its code, or 128 + the number of the signal that killed it. */
function shellStatus(status: ExitStatus): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
  if (status.code !== null) return status.code;
  const n = numbers[status.signal!];
  if (n === undefined) throw new Error(`the world sent a signal the sim has no number for: ${status.signal}`);
  return 128 + n;
}

export function bootChecks(sim: Sim): Check {
  const { world, count } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;
  /** Services seen up since the boot (a task: down after a run that ended). */
  const upOnce = new Set<string>();
  /** Services that became failed in this step. */
  const failedNow = new Set<string>();
  let before: { end: End | null; booting: boolean; onItsOwn: boolean } = { end: null, booting: false, onItsOwn: false };

  /** The services of the boot still wanted that have not been up since it began. */
  const notUpYet = (): string[] => [...e.boot!.services].filter((n) => e.services.has(n) && e.wanted.has(n) && !upOnce.has(n));

  /** Each end has its cause in the step that records it, and each cause records one. */
  const checkEnd = (fact: Fact, actions: readonly Action[]): void => {
    const end = e.end;
    const boot = e.boot;
    if (end !== null && !e.shuttingDown) fail(`(g) the end is recorded (${end.reason}) but the engine is not shutting down`);
    // A restart decided before the end (its post-stop ran meanwhile) may be armed, but is called off in the same step.
    const restarting = end === null ? undefined : actions.find((a) => "service" in a && e.services.get(a.service)?.delayed === true);
    if (restarting !== undefined) fail(`(g) ${(restarting as { service: string }).service} waits to restart after the end (${end!.reason})`);
    if (before.end !== null) {
      if (end?.code !== before.end.code || end.reason !== before.end.reason) fail(`(g) the end changed from ${JSON.stringify(before.end)} to ${JSON.stringify(end)}`);
      return;
    }
    const failedInBoot = boot !== null && boot.onBootFailure === "stop" && before.booting ? [...failedNow].filter((n) => boot.services.has(n)) : [];
    if (end === null) {
      if (before.onItsOwn) fail(`(g) the exit-with service ${boot!.exitWith} ended on its own, and the boot did not end`);
      if (failedInBoot.length > 0) fail(`(g) ${failedInBoot.join(", ")} failed during the boot, with on-boot-failure = stop, and the boot did not end`);
    } else if (fact.kind === "shutdown") {
      if (end.code !== 0) fail(`(g) a shutdown ended with status ${end.code}`);
    } else if (before.onItsOwn && fact.kind === "exited") {
      const expected = shellStatus(fact.status);
      if (end.code !== expected) fail(`(g) ${boot!.exitWith} ended with ${showFact(fact)}, and the end's status is ${end.code}, not ${expected}`);
      count("end exit-with");
    } else if ("service" in fact && fact.service === boot?.exitWith) {
      // Its run ended without a status of its own (it could not start, its start timed out); the boot may fail in the same step.
      if (end.code !== 1) fail(`(g) ${fact.service}'s run ended on ${showFact(fact)}, and the end's status is ${end.code}, not 1`);
      count("end exit-with");
    } else if (failedInBoot.length > 0) {
      if (end.code !== 1 || !end.reason.startsWith("boot failed: ")) fail(`(g) ${failedInBoot.join(", ")} failed during the boot, and the end is ${JSON.stringify(end)}`);
      count("end boot failure");
    } else fail(`(g) the end ${JSON.stringify(end)} came on ${showFact(fact)}, which is none of its causes`);
  };

  return {
    beforeStep(fact) {
      const x = e.boot?.exitWith ?? null;
      // The exit-with service's main (or its pre-start or launcher, failing) ends while tend did not ask it to stop.
      const wantsUp = x !== null && e.wanted.has(x) && !e.shuttingDown && !(e.pendingApply?.leaving.has(x) ?? false) && !e.bounces.some((g) => g.has(x));
      const role = fact.kind === "exited" ? world.proc(fact.pid)!.role : null;
      const ends =
        fact.kind === "exited" && (role === "main" || (role === "pre-start" && !isSuccess(world.def(fact.service), fact.status)) || (role === "launcher" && fact.status.code !== 0));
      const onItsOwn = ends && fact.service === x && e.end === null && wantsUp && world.phase(x) !== "stopping";
      before = { end: e.end, booting: e.boot !== null && e.boot.completeAt === null, onItsOwn };
      failedNow.clear();
    },
    action(a) {
      if (a.kind !== "changed") return;
      const was = world.phase(a.service);
      if (a.phase === "up" || (world.def(a.service).type === "task" && a.phase === "down" && (e.services.get(a.service)?.runs ?? 0) > 0)) upOnce.add(a.service);
      if (a.phase === "failed" && was !== "failed") failedNow.add(a.service);
    },
    afterStep(fact, actions) {
      checkEnd(fact, actions);
      const boot = e.boot;
      if (boot === null || !before.booting || boot.completeAt === null) return;
      const notYet = notUpYet();
      if (notYet.length > 0) fail(`(g) the boot is complete, but ${notYet.slice(0, 5).join(", ")} ha${notYet.length === 1 ? "s" : "ve"} not been up`);
      count("boot complete");
    },
    settled() {
      const boot = e.boot;
      if (boot !== null && boot.completeAt === null && notUpYet().length === 0) fail("(g) every service of the boot has been up, and the boot is not complete");
    },
  };
}
