// Job events (f): `started X` comes right after X became up (or a task's run
// launched), `stopped X` right after X left an active phase, `starting X` right after
// a start began, and each of those changes has its job event; `stopping X` comes only
// before the stop of a process X has (or of an up oneshot).

import type { Action } from "../../../src/engine/types.js";
import { ACTIVE, type Check, type Sim } from "./check.js";
import { jobOf, showAction } from "./report.js";

export function jobChecks(sim: Sim): Check {
  const { world } = sim;
  const fail: Sim["fail"] = sim.fail;
  /** The job event the last action implies, which the next one (delays aside) must be. */
  let expectJob: { verb: string; service: string; after: string } | null = null;

  /** For every action but `delay` (which an occurrence's conditions emit before it is reported). */
  const jobEvents = (a: Action): void => {
    const expected = expectJob;
    expectJob = null;
    const job = a.kind === "occurred" && a.what.kind === "job" ? a.what : null;
    if (expected !== null) {
      if (job === null || job.verb !== expected.verb || jobOf(job) !== expected.service) fail(`(f) ${expected.after}, and '${showAction(a)}' followed instead of '${expected.verb} ${expected.service}'`);
      return;
    }
    if (job !== null) {
      const service = jobOf(job);
      if (job.verb !== "stopping") fail(`(f) '${job.verb} ${service}' with no change of ${service} to cause it`);
      // `stopping X` comes before the stop of a process X has, or of an up oneshot (its hooks run before it is signalled).
      const phase = world.phase(service);
      if (!ACTIVE.includes(phase) || (world.live(service) === undefined && phase !== "up")) fail(`(f) 'stopping ${service}' while it is ${phase} with no process`);
      return;
    }
    if (a.kind === "changed") {
      const was = world.phase(a.service);
      const verb =
        a.phase === "up" && was !== "up"
          ? "started"
          : (a.phase === "down" || a.phase === "failed") && (ACTIVE.includes(was) || was === "stopping")
            ? "stopped"
            : (a.phase === "starting" || a.phase === "running") && a.reason === null && (was === "down" || was === "failed")
              ? "starting"
              : null;
      if (verb !== null) expectJob = { verb, service: a.service, after: `${a.service} went ${was} → ${a.phase}` };
    } else if (a.kind === "spawn") {
      const def = world.def(a.service);
      if (def.type === "task" && a.role === (def.preStart !== null ? "pre-start" : "main")) expectJob = { verb: "started", service: a.service, after: `${a.service}'s run launched (${a.role})` };
    }
  };

  return {
    beforeStep() {
      expectJob = null;
    },
    action(a) {
      if (a.kind !== "delay") jobEvents(a);
    },
    afterStep() {
      if (expectJob !== null) fail(`(f) ${expectJob.after}, and no '${expectJob.verb} ${expectJob.service}' followed`);
    },
  };
}
