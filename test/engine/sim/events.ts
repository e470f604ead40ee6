// The events' invariants, checked against a model of the conditions (event-model.ts):
//   a. a task never runs twice at once: a trigger while its run goes on (or is still
//      to come) is skipped, and only then;
//   b. a transition waits for its hooks: X's first process is spawned (or X, up, is
//      stopped) only once the tasks its `starting X` (`stopping X`) started have ended,
//      or its hook timeout fired;
//   c. each occurrence fires exactly the `start-on`, `stop-on` and `after` schedules the
//      model says; the triggered set changes only as they fire (or a task's run ends,
//      or an apply takes the service away); a service whose `stop-on` fired is no
//      longer triggered;
//   d. a service whose `start-on` is levels only (no `stop-on`) is triggered exactly
//      while its levels hold;
//   e. an instance runs with its own value of its key (instances.ts checks the rest);
// and a start begins only for what is wanted (or runs as a hook), never in a shutdown.
// Job events (f) are jobs.ts's.

import type { Database } from "../../../src/compile/database.js";
import { argumentOf } from "../../../src/config/template.js";
import type { Action, Fact } from "../../../src/engine/types.js";
import { ACTIVE, isActive, START_ROLES, type Check, type Sim } from "./check.js";
import { EventModel, type Expected } from "./event-model.js";
import { templateOf } from "./graph.js";
import { noRoom } from "./instances.js";
import { jobOf, showAction, showFact } from "./report.js";

interface Hooks {
  verb: "starting" | "stopping";
  tasks: string[];
  token: number | null;
  timedOut: boolean;
}

export interface EventSide extends Check {
  readonly model: EventModel | null;
  /** What an apply's switch in this step started, by the levels as they are (no occurrence says so). */
  arrived(): readonly string[];
}

export function eventChecks(sim: Sim, db: Database): EventSide {
  const { world, count } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;
  const built = new EventModel(Object.values(db.services), (template) => world.graph.instancesOf(template));
  /** Null for a database without any condition (an apply does not add one). */
  const model = built.empty ? null : built;
  /** Tasks a trigger started whose run has not ended (nor been cancelled by their `stop-on`). */
  const pendingRun = new Set<string>();
  /** The hook tasks each service's transition waits for: those its last `starting` or `stopping` started. */
  const hooks = new Map<string, Hooks>();
  /** In this step: the occurrence index at which each target's start-on or stop-on last fired. */
  const startFired = new Map<string, number>();
  const stopFired = new Map<string, number>();
  let occurrences = 0;
  /** Tasks that were hook runs at some point of this step (they run during a shutdown). */
  let hookRuns = new Set<string>();
  /** Starts begun in this step of what is not wanted at its end: only a `stop-on` later in it may explain them. */
  const unwantedStarts: string[] = [];
  /** The engine's triggered set as this step's occurrences have made it so far. */
  let triggeredNow = new Set<string>();
  /** The engine was shutting down before this step. */
  let shuttingDown = false;
  /** The engine's triggered set after the last step; whether this step fired anything. */
  let triggered = new Set<string>();
  let fired = false;
  /** Tasks whose run ended in this step: their trigger is spent. */
  const runEnded = new Set<string>();
  /** Triggers an apply took away with what it removed, or that went with an instance forgotten. */
  const gone = new Set<string>();
  /** `delay` actions since the last `occurred` one (or that an apply's arrivals expect). */
  let delays: { service: string; env: Record<string, string> }[] = [];
  let expectedDelays: Expected["delays"] = [];
  let arrivals: string[] = [];
  /** Where in this step's actions the switch of an apply is (-1: none). */
  let switchAt = -1;

  /** (b) The hook tasks of the transition that goes on now have ended, or their timeout fired. */
  const checkHooks = (name: string, verb: "starting" | "stopping", what: string): void => {
    const h = hooks.get(name);
    if (h === undefined || h.verb !== verb) return;
    hooks.delete(name);
    if (h.timedOut) return;
    for (const task of h.tasks) {
      const phase = world.phase(task);
      if (ACTIVE.includes(phase) || phase === "stopping" || pendingRun.has(task)) {
        fail(`(b) ${what} while ${task}, run on '${verb} ${name}', is ${phase}${pendingRun.has(task) ? " with its run to come" : ""} and its hook timeout has not fired`);
      }
    }
  };

  /** Triggers and stops the model expects, noted at the next occurrence index. */
  const expect = (expected: Expected, at: number): string[] => {
    const want = expected.starts.flatMap((s) => (s.target === null ? [] : [s.target]));
    for (const t of want) startFired.set(t, at);
    for (const t of expected.stops) stopFired.set(t, at);
    if (want.length + expected.stops.length > 0) fired = true;
    return want;
  };

  /** (c) The conditions an occurrence fires, against what the engine says it started, stopped and skipped. */
  const occurred = (a: Extract<Action, { kind: "occurred" }>): void => {
    const what = a.what;
    const made = delays;
    delays = [];
    if (model === null) {
      if (a.started.length + a.stopped.length + a.skipped.length + made.length > 0) fail(`'${showAction(a)}' with no condition anywhere`);
      return;
    }
    let expected: Expected;
    if (what.kind === "event" || what.kind === "job") expected = model.occur(what);
    else if (what.kind === "level") expected = model.level(what.name, what.value);
    else {
      const f = world.fact!;
      if (f.kind !== "scheduled" || f.service !== what.service) fail(`a schedule of ${what.service} occurred on ${showFact(f)}`);
      expected = model.scheduled(world.def(what.service), f.env);
    }
    const show = (list: readonly string[]): string => `[${[...list].sort().join(", ")}]`;
    // A service's start-on is seen before its stop-on: when one occurrence fires both, the stop wins.
    const want = expect(expected, occurrences++);
    // Wanted by its event and running already (not a task): a repeat changes nothing, and is not told.
    const repeat = (t: string): boolean => world.def(t).type !== "task" && triggeredNow.has(t) && isActive(world.phase(t));
    // An instance its template had no room for (as many as it keeps, none at rest) is not made (instances.ts checks the bound).
    const refused = (t: string): boolean => !e.defs.has(t) && noRoom(e, templateOf(t));
    const told = want.filter((t) => !refused(t) && !repeat(t));
    if (want.some(refused)) count("instance refused");
    if (told.length < want.filter((t) => !refused(t)).length) count("repeat of a running trigger");
    if (show(told) !== show([...a.started, ...a.skipped])) fail(`'${showAction(a)}' started ${show(a.started)} and skipped ${show(a.skipped)}; its conditions fire ${show(told)}${told.length < want.length ? ` (and ${show(want.filter(repeat))} again, running)` : ""}`);
    for (const t of a.started) triggeredNow.add(t);
    for (const t of expected.stops) triggeredNow.delete(t);
    for (const t of a.stopped) if (!expected.stops.includes(t)) fail(`'${showAction(a)}' stopped ${t}, whose stop-on did not fire`);
    const key = (d: { service: string; env: Record<string, string> }): string => `${d.service} ${JSON.stringify(Object.entries(d.env).sort())}`;
    if (show(made.map(key)) !== show(expected.delays.map(key))) fail(`'${showAction(a)}' delayed ${show(made.map(key))}; its conditions fire ${show(expected.delays.map(key))}`);
    // (a) A task runs once at a time: a trigger while it runs (or while its run is still to come) is skipped, and only then.
    for (const t of a.started) {
      const phase = world.phase(t);
      if (world.def(t).type === "task") {
        if (ACTIVE.includes(phase) || phase === "stopping") fail(`(a) ${t} was triggered again while ${phase}: a second run`);
        pendingRun.add(t);
      }
      count("trigger");
    }
    for (const t of a.skipped) {
      const phase = world.phase(t);
      if (world.def(t).type !== "task") fail(`(a) a trigger of ${t}, a ${world.def(t).type}, was skipped`);
      if (!ACTIVE.includes(phase) && phase !== "stopping" && !pendingRun.has(t)) {
        fail(`(a) a trigger of ${t} was skipped, but it is ${phase}${e.services.get(t)!.held ? ", held" : ""} with no run going or to come: the trigger is lost`);
      }
      count("skip");
    }
    for (const t of expected.stops) pendingRun.delete(t); // a task's run to come is called off; one going is stopped
    for (const _ of a.stopped) count("untrigger");
    count(`occurred ${what.kind}${what.kind === "job" ? ` ${what.verb}` : ""}`);
    // (b) The tasks this job event started, or found still running, are what the transition
    // waits for: a start always, a stop when the service is up (not a task, nor a longrun not ready).
    if (what.kind === "job" && (what.verb === "starting" || (what.verb === "stopping" && world.phase(jobOf(what)) === "up"))) {
      const tasks = [...a.started, ...a.skipped].filter((t) => world.def(t).type === "task");
      if (tasks.length > 0) {
        hooks.set(jobOf(what), { verb: what.verb, tasks, token: null, timedOut: false });
        for (const t of tasks) hookRuns.add(t);
        count("hook run");
      } else hooks.delete(jobOf(what));
    }
  };

  /** An apply switched databases: the model follows, and what arrives sees the levels as they are. */
  const switched = (a: Extract<Action, { kind: "switched" }>): void => {
    for (const name of a.removed) {
      gone.add(name);
      pendingRun.delete(name);
      hooks.delete(name);
    }
    // A hook task that left is no longer waited for.
    for (const h of hooks.values()) h.tasks = h.tasks.filter((t) => !a.removed.includes(t));
    if (model === null) return;
    const before = world.graph.db;
    const arriving = Object.values(a.db.services).filter((d) => d.type !== "bundle" && (!Object.hasOwn(before.services, d.name) || a.changed.includes(d.name)));
    const expected = model.switched(Object.values(a.db.services), new Set([...a.removed, ...a.changed]), arriving);
    arrivals = expect(expected, occurrences++);
    expectedDelays = expected.delays;
  };

  const changed = (a: Extract<Action, { kind: "changed" }>, next: Action | undefined): void => {
    const name = a.service;
    const was = world.phase(name);
    const def = world.def(name);
    // (b) An orderly stop waits for the tasks run on `stopping NAME`: not a crash whose
    // post-stop runs now, nor the stop of a start that timed out.
    const cleanUp = a.phase === "stopping" && next?.kind === "spawn" && next.service === name && next.role === "post-stop";
    const quietly = def.type === "oneshot" && was === "up" && (a.phase === "down" || a.phase === "failed") && def.down === null;
    const f = world.fact!;
    const timedOut = f.kind === "timer" && f.service === name && world.timer?.purpose === "start-timeout";
    if (((a.phase === "stopping" && !cleanUp) || quietly) && !timedOut) checkHooks(name, "stopping", `${name} began stopping`);
    if (a.phase === "down" || a.phase === "failed") {
      hooks.delete(name); // its transition is over
      if (ACTIVE.includes(was) || was === "stopping") {
        pendingRun.delete(name);
        if (world.def(name).type === "task") runEnded.add(name);
      }
    }
  };

  const spawn = (a: Extract<Action, { kind: "spawn" }>, beforeSwitch: boolean): void => {
    // (Before a switch in the same step, what was wanted was the old database's: the set at the end is the new one's.)
    if (world.begins(a) !== null && START_ROLES.includes(a.role) && !beforeSwitch) {
      // A hook task runs even when nothing else wants it (during a shutdown, say). The wanted
      // set is the one at the end of the step: a trigger earlier in it may have been undone
      // since, or a `stop-on` later in it (see afterStep).
      const hook = hookRuns.has(a.service) || e.hookRuns.has(a.service) || startFired.has(a.service);
      // (A shutdown that this step began may come after the start: a service failing on the boot, say.)
      if (!hook && shuttingDown) fail(`${a.service} began starting but is not wanted (shutting down)`);
      if (!hook && !e.wanted.has(a.service)) unwantedStarts.push(a.service);
    }
    if (START_ROLES.includes(a.role)) checkHooks(a.service, "starting", `${a.service} spawned its first process (${a.role})`);
    if (a.role === "down") checkHooks(a.service, "stopping", `${a.service} spawned its down`);
    const def = world.def(a.service);
    const made = e.defs.get(a.service);
    if (def.instance !== null && made?.template != null) {
      // (e) an instance runs with its own value of the key (in its definition's environment, or the event's after it).
      const value = argumentOf(a.service, made.template);
      const got = { ...made.env, ...(a.env ?? {}) }[def.instance];
      if (got !== value) fail(`(e) ${a.service}: spawned with ${def.instance}=${got}`);
    }
  };

  /**
   * (c, d) The engine's triggered set changes only as the conditions fire, a task's run
   * ends, or an apply takes a service away; a target whose stop-on fired last is no
   * longer triggered; a "while" service is triggered exactly while its levels hold.
   */
  const checkTriggers = (fact: Fact): void => {
    const command = fact.kind === "start" || fact.kind === "stop" || fact.kind === "restart" || fact.kind === "unwant";
    const ends = fact.kind === "exited" || fact.kind === "spawn-failed" || runEnded.size > 0 || gone.size > 0;
    if (!fired && !ends && !command && e.triggered.size === triggered.size) return;
    const before = triggered;
    triggered = new Set(e.triggered);
    // A run ends when its main process does (a post-stop may follow), or when the task stops.
    const ended = (t: string): boolean => runEnded.has(t) || gone.has(t) || ((fact.kind === "exited" || fact.kind === "spawn-failed") && fact.service === t && world.def(t).type === "task");
    let changes = false;
    for (const t of e.triggered) {
      if (before.has(t)) continue;
      changes = true;
      if (!startFired.has(t)) fail(`${t} became triggered on ${showFact(fact)}, with no condition of it firing`);
    }
    for (const t of before) {
      if (e.triggered.has(t)) continue;
      changes = true;
      if (!stopFired.has(t) && !ended(t)) fail(`${t} is no longer triggered after ${showFact(fact)}, though no stop-on of it fired and no run of it ended`);
    }
    for (const [t, at] of stopFired) {
      if (at >= (startFired.get(t) ?? -1) && e.triggered.has(t)) fail(`(c) ${t}: its stop-on fired, but it is still triggered`);
    }
    for (const def of fact.kind === "level" || changes ? model!.whiles : []) {
      if (!e.services.has(def.name)) continue;
      if (e.triggered.has(def.name) !== model!.whileHolds(def)) {
        fail(`(d) ${def.name} (start-on over levels only) is ${e.triggered.has(def.name) ? "" : "not "}triggered, but its levels ${model!.whileHolds(def) ? "hold" : "do not hold"}`);
      }
    }
  };

  return {
    model,
    arrived: () => arrivals,
    beforeStep(fact) {
      if (fact.kind === "timer" && world.timer?.live === true && world.timer.purpose === "hook-timeout") {
        count("hook timeout");
        const h = hooks.get(fact.service);
        if (h !== undefined && h.token === fact.token) h.timedOut = true;
      }
      if (hookRuns.size > 0 || e.hookRuns.size > 0) hookRuns = new Set(e.hookRuns);
      if (triggeredNow.size > 0 || e.triggered.size > 0) triggeredNow = new Set(e.triggered);
      shuttingDown = e.shuttingDown;
      for (const set of [startFired, stopFired, runEnded, gone]) set.clear();
      fired = false;
      occurrences = 0;
      delays = [];
      expectedDelays = [];
      arrivals = [];
    },
    action(a, i, actions) {
      if (i === 0) switchAt = actions.findIndex((x) => x.kind === "switched");
      switch (a.kind) {
        case "changed":
          return changed(a, actions[i + 1]);
        case "spawn":
          return spawn(a, i < switchAt);
        case "arm":
          if (a.purpose === "hook-timeout") {
            const h = hooks.get(a.service);
            if (h === undefined) fail(`${a.service}: armed a hook timeout with no hook task to wait for`);
            h.token = a.token;
          }
          return;
        case "delay":
          return void delays.push({ service: a.service, env: a.env });
        case "occurred":
          return occurred(a);
        case "switched":
          return switched(a);
        default:
          return;
      }
    },
    afterStep(fact) {
      for (const name of unwantedStarts) if (!stopFired.has(name)) fail(`${name} began starting but is not wanted`);
      unwantedStarts.length = 0;
      const unexplained = delays.filter((d) => !expectedDelays.some((x) => x.service === d.service));
      if (unexplained.length > 0) fail(`${unexplained.map((d) => d.service).join(", ")}: a delay with no occurrence to cause it`);
      // An instance forgotten to make room for another (at rest, as instances.ts checks) takes its trigger with it.
      if (world.graph.instances.size > 0) for (const t of triggered) if (!e.services.has(t) && t.includes("@")) gone.add(t);
      if (model !== null) checkTriggers(fact);
      // A start that went back to waiting (its requirement went down during the pre-start) keeps its trigger: its run is still to come.
      for (const t of runEnded) if (e.triggered.has(t)) pendingRun.add(t);
    },
  };
}
