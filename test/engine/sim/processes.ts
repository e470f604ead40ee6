// Invariants 1–3 and the ordering, checked at every action as it comes:
//   1. nothing starts before what it requires is up (and, in the world, ready), nor
//      begins while what it is ordered after is in transition;
//   2. nothing that is required stops before what requires it has, nor before what
//      is ordered after it and also stopping has stopped;
//   3. one process per service (and at most one post-start, reload or stop command beside it), and the
//      engine's pid and role are the world's;
//   r. a reload never changes a phase nor spawns anything but a reload command, and
//      is under way only while its service is up;
// and what each action may be: a process of a role the service has, a stop signal
// only while stopping (SIGKILL only on the stop timeout, never to a stop hook), an
// admin's signal sent to the process the service has (its main with `to: main`), a
// reload's signal to the main process while up, a SIGKILL of a reload command only
// when its reload is over (a stop command's, when it is over: its timeout), a stop command
// only while stopping and a post-start only while starting, each with its main's MAINPID, a kill only of what a oneshot
// or a forking daemon's launcher left (with no process of its own tracked).

import type { ServiceDef } from "../../../src/config/service.js";
import type { Action, ExitStatus, Fact, SpawnRole } from "../../../src/engine/types.js";
import { ACTIVE, START_ROLES, type Check, type Sim } from "./check.js";
import { showAction, showFact } from "./report.js";

export function processChecks(sim: Sim): Check {
  const { world } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;
  /** The pid the engine had for the service an admin's signal names. */
  let signalled: number | null = null;
  /** The step's fact is news of a stop command (the reload-* facts are of the command beside, whichever it is). */
  let stopCommandNews = false;
  /** The step's fact is news of a post-start: its end makes the service up (and starts what waits for it), or fails its start. */
  let postStartNews = false;
  /** The step's fact is news of a post-start a start cut short left: its end lets its service start again (or an apply switch). */
  let leftPostStartNews = false;

  /** Invariant 1 (and ordering): nothing starts before what it requires is up. */
  const checkStart = (name: string, role: SpawnRole, begins: boolean): void => {
    const g = world.graph;
    for (const r of g.requires(name)) {
      const phase = world.phase(r);
      if (phase !== "up") fail(`invariant 1: ${name} spawned its ${role} while its requirement ${r} is ${phase}`);
      // Up in the world too: a longrun's main process lives and said it is ready; a
      // oneshot has no process (its `up` succeeded and its `down` has not begun).
      const p = world.live(r);
      if (world.def(r).type === "longrun" && !(p !== undefined && p.role === "main" && p.ready)) {
        fail(`invariant 1: ${name} spawned its ${role} while its requirement ${r} is 'up' but has ${p === undefined ? "no process" : `a ${p.role} process${p.ready ? "" : " not ready"}`}`);
      }
      if (world.def(r).type === "oneshot" && p !== undefined) fail(`invariant 1: ${name} spawned its ${role} while its requirement ${r} runs its ${p.role}`);
    }
    if (!begins) return;
    for (const a of g.after(name)) {
      const phase = world.phase(a);
      if (phase === "starting" || phase === "running" || phase === "stopping") fail(`ordering: ${name} began starting while ${a}, which it is ordered after, is ${phase}`);
    }
  };

  /**
   * Invariant 2 (and ordering): a service stops only once nothing that requires it is
   * active, and nothing ordered after it is stopping. A service whose start timed out
   * is stopped at once and becomes failed (its dependents follow through `dependency
   * … failed`): the step of its own start-timeout timer is no stop of a requirement.
   * Not stops either, and so not checked: a service whose main process ended by itself
   * is `stopping` while its post-stop hook runs (a crash, which leaves its dependents
   * alone); and a stop signal sent when a pending spawn is reported, or once the stop
   * command has ended (`deferred`), was decided when the stop began, and was checked then.
   */
  const checkStop = (name: string, what: string, deferred: boolean): void => {
    const f = world.fact!;
    if (f.kind === "timer" && f.service === name && world.timer?.purpose === "start-timeout") return;
    if (deferred && f.kind === "spawned" && f.service === name) return;
    // So is the stop signal after the stop command: the stop began with the command, checked then.
    if (deferred && stopCommandNews && "service" in f && f.service === name) return;
    // A failed post-start is a failed start, as a start timeout is: the main's stop is no stop of a requirement.
    if (postStartNews && "service" in f && f.service === name) return;
    const g = world.graph;
    for (const d of g.requiredBy(name)) {
      const phase = world.knows(d) ? world.phase(d) : "down";
      if (ACTIVE.includes(phase)) fail(`invariant 2: ${what} while ${d}, which requires it, is ${phase}`);
    }
    for (const d of g.before(name)) {
      if (world.knows(d) && world.phase(d) === "stopping") fail(`ordering: ${what} while ${d}, which is ordered after it, is still stopping`);
    }
  };

  const spawn = (a: Extract<Action, { kind: "spawn" }>): void => {
    const { service: name, role } = a;
    const def = world.def(name);
    if (role === "reload") {
      if (def.reload === null) fail(`${name}: spawned a reload command it does not have`);
      if (world.phase(name) !== "up") fail(`invariant r: ${name} spawned its reload command while ${world.phase(name)}`);
      const other = world.reloadCommand(name);
      if (other !== undefined) fail(`invariant 3: ${name} spawned a reload command while another (pid ${other.pid}) is still alive`);
      const main = world.live(name);
      if (a.env?.MAINPID !== String(main?.pid)) fail(`${name}: its reload command has MAINPID=${a.env?.MAINPID}, its main process is ${main?.pid}`);
      return;
    }
    if (role === "stop") {
      if (def.stop === null) fail(`${name}: spawned a stop command it does not have`);
      if (world.phase(name) !== "stopping") fail(`${name} spawned its stop command while ${world.phase(name)}`);
      const other = world.reloadCommand(name);
      if (other !== undefined) fail(`invariant 3: ${name} spawned its stop command while a ${other.role} command (pid ${other.pid}) is still alive`);
      const main = world.live(name);
      if (main?.role !== "main" || a.env?.MAINPID !== String(main.pid)) fail(`${name}: its stop command has MAINPID=${a.env?.MAINPID}, its process is ${main?.role} ${main?.pid}`);
      return checkStop(name, `${name} spawned its stop command`, false);
    }
    if (role === "post-start") {
      if (def.postStart === null) fail(`${name}: spawned a post-start it does not have`);
      if (world.phase(name) !== "starting") fail(`${name} spawned its post-start while ${world.phase(name)}`);
      const other = world.reloadCommand(name);
      if (other !== undefined) fail(`invariant 3: ${name} spawned its post-start while a ${other.role} command (pid ${other.pid}) is still alive`);
      const main = world.live(name);
      if (main?.role !== "main" || !main.ready || a.env?.MAINPID !== String(main.pid)) fail(`${name}: its post-start has MAINPID=${a.env?.MAINPID}, its process is ${main?.role} ${main?.pid}${main?.ready === false ? " (not ready)" : ""}`);
      return;
    }
    // A stop command's end lets its stop go on (a post-stop), a post-start's makes its service up, a left one's lets it start: no reload's.
    if (isReloadFact(world.fact!) && !stopCommandNews && !postStartNews && !leftPostStartNews) fail(`invariant r: ${showFact(world.fact!)} spawned ${name}'s ${role}`);
    const other = world.live(name);
    if (other !== undefined) fail(`invariant 3: ${name} spawned a ${role} while its ${other.role} (pid ${other.pid}) is still alive`);
    if (START_ROLES.includes(role)) checkStart(name, role, world.begins(a) === "start");
    if (role === "down") {
      if (def.type !== "oneshot" || def.down === null) fail(`${name}: spawned a 'down' it does not have`);
      checkStop(name, `${name} spawned its down`, false);
    }
    if ((role === "pre-start" && def.preStart === null) || (role === "post-stop" && def.postStop === null)) fail(`${name}: spawned a ${role} it does not have`);
    if ((role === "main" || role === "launcher" || role === "pre-start" || role === "post-stop") === (def.type === "oneshot") || (role === "up" && def.type !== "oneshot")) {
      fail(`${name}: spawned ${role} for a ${def.type}`);
    }
    // A forking daemon's command runs as its launcher; its main is the process its pid file (or its tree) names, never spawned.
    if ((role === "launcher" || role === "main") && def.type === "longrun" && (role === "launcher") !== def.forking) {
      fail(`${name}: spawned its command as ${role}${def.forking ? " for a forking daemon" : " for a daemon that is not forking"}`);
    }
  };

  const signal = (a: Extract<Action, { kind: "signal" }>): void => {
    const { service: name, pid } = a;
    const p = world.proc(pid);
    if (p === undefined || !p.alive || !p.reported || p.service !== name) {
      fail(`invariant 3: ${name} signalled pid ${pid} with ${a.signal}, which is ${p === undefined ? "unknown" : `${p.alive ? "alive" : "dead"}, of ${p.service}`}`);
    }
    const f = world.fact!;
    if (f.kind === "signal") {
      // An admin's signal goes to the process the service has, whatever it is doing (`to: main`: its main process).
      if (name !== f.service || a.signal !== f.signal || pid !== signalled || a.to !== f.to) fail(`${showFact(f)} => ${showAction(a)}: the engine had pid ${signalled}`);
      signalled = null;
      return;
    }
    if (a.to === "reload") {
      // A reload command killed: its reload timed out, or it is one whose reload is over.
      if (a.signal !== "SIGKILL" || (p?.role !== "reload" && p?.role !== "stop" && p?.role !== "post-start")) fail(`${name}: ${showAction(a)} to what is not a command beside`);
      if (p?.role === "post-start" && e.services.get(name)?.postStart?.pid === pid) fail(`${name}: its post-start (pid ${pid}) was killed while its post-start goes on`);
      if (p?.role === "stop" && e.services.get(name)?.stopCommand?.pid === pid) fail(`${name}: its stop command (pid ${pid}) was killed while its stop command goes on`);
      const r = e.services.get(name)?.reload;
      if (r != null && r.pid === pid) fail(`${name}: its reload command (pid ${pid}) was killed while its reload goes on`);
      return;
    }
    if (a.to === "main") {
      if (f.kind !== "reload" || a.signal !== world.def(name).reloadSignal || p?.role !== "main" || world.phase(name) !== "up") {
        fail(`${name}: ${showAction(a)} on ${showFact(f)} while ${world.phase(name)}: not its reload signal to an up main process`);
      }
      return;
    }
    const phase = world.phase(name);
    if (a.signal === "SIGKILL") {
      if (phase !== "stopping") fail(`${name}: SIGKILL while ${phase}`);
      const purpose = world.timer?.purpose;
      if (f.kind !== "timer" || f.service !== name || purpose !== "stop-timeout") {
        fail(`${name}: SIGKILL on ${showFact(f)}${purpose === undefined ? "" : ` (a ${purpose})`}, not on its stop timeout`);
      }
      return;
    }
    // A stop-side hook (oneshot `down`, `post-stop`) is the stop itself: it is killed only after the stop timeout.
    if (p.role === "down" || p.role === "post-stop") fail(`${name}: sent ${a.signal} to its ${p.role} hook (pid ${pid})`);
    if (phase !== "stopping") fail(`${name}: sent ${a.signal} while ${phase}`);
    checkStop(name, `${name} was sent ${a.signal}`, true);
  };

  const changed = (a: Extract<Action, { kind: "changed" }>, next: Action | undefined): void => {
    const { service: name, phase, reason } = a;
    const was = world.phase(name);
    const def = world.def(name);
    if (phase === "failed" && (reason === null || reason === "")) fail(`${name}: failed without a reason`);
    if ((def.type === "task") !== (phase === "running") && (phase === "running" || phase === "starting" || phase === "up")) fail(`${name}: a ${def.type} went ${phase}`);
    // The main process ended by itself and its post-stop hook runs: a crash, not a stop.
    const cleanUp = phase === "stopping" && next?.kind === "spawn" && next.service === name && next.role === "post-stop";
    // Already stopping, with a new reason (its stop command failed): the same stop.
    if (phase === "stopping" && !cleanUp && was !== "stopping") checkStop(name, `${name} began stopping`, false);
    // A oneshot with no `down` goes from up to down without a process to stop.
    if (def.type === "oneshot" && was === "up" && (phase === "down" || phase === "failed") && def.down === null) checkStop(name, `${name} went ${phase} from up`, false);
  };

  /** A `down` that failed is reported: the service does not just quietly go down. */
  const failedDown = (fact: Extract<Fact, { kind: "exited" }>, actions: readonly Action[]): void => {
    if (world.proc(fact.pid)?.role !== "down" || isSuccess(world.def(fact.service), fact.status)) return;
    const first = actions.find((a) => a.kind === "changed" && a.service === fact.service);
    if (first?.kind === "changed" && first.phase === "down" && first.reason === null) {
      fail(`${fact.service}: its down ended with ${fact.status.signal ?? `code ${fact.status.code}`}, and it went down with no reason`);
    }
  };

  return {
    beforeStep(fact) {
      if (fact.kind === "exited") {
        const s = e.services.get(fact.service);
        const p = world.proc(fact.pid)!;
        if (s !== undefined && s.pid !== p.pid) fail(`${p.service}: pid ${p.pid} (${p.role}) exited but the engine tracks pid ${s.pid} (${s.role})`);
      }
      stopCommandNews = "service" in fact && e.services.get(fact.service)?.stopCommand != null;
      postStartNews = isReloadFact(fact) && "service" in fact && e.services.get(fact.service)?.postStart != null;
      leftPostStartNews = isReloadFact(fact) && "service" in fact && e.services.get(fact.service)?.postStartLeft === true;
      const s = fact.kind === "signal" ? e.services.get(fact.service) : undefined;
      signalled = s === undefined || (fact.kind === "signal" && fact.to === "main" && s.role !== "main") ? null : s.pid;
    },
    action(a, i, actions) {
      switch (a.kind) {
        case "arm":
          if (!(a.ms >= 0)) fail(`${a.service}: armed a timer for ${a.ms} ms`);
          return;
        case "spawn":
          return spawn(a);
        case "signal":
          return signal(a);
        case "kill": {
          // Only a oneshot's leftovers, when it goes down without a `down` or its `up` failed;
          // or a forking daemon's launcher's, when it failed or its daemon was not found.
          const def = world.def(a.service);
          if (def.type !== "oneshot" && !def.forking) fail(`${a.service}: a kill of a ${def.type}`);
          if (def.forking && world.live(a.service) !== undefined) fail(`${a.service}: a kill while its ${world.live(a.service)!.role} runs`);
          return;
        }
        case "changed": {
          // A post-start cut short is killed with the change (phase.ts `setPhase`): what follows is the next action but that kill.
          const next = actions.slice(i + 1).find((b) => !(b.kind === "signal" && b.to === "reload" && b.service === a.service));
          return changed(a, next);
        }
        default:
          return;
      }
    },
    afterStep(fact, actions) {
      if (fact.kind === "signal" && signalled !== null) fail(`${showFact(fact)}: the engine had pid ${signalled}, and sent no signal`);
      const touched = new Set<string>();
      if ("service" in fact) touched.add(fact.service);
      for (const a of actions) if ("service" in a) touched.add(a.service);
      consistent(sim, sim.thorough ? e.topo.names : touched);
      if (fact.kind === "exited") failedDown(fact, actions);
    },
  };
}

/** The facts of a reload: none of them changes a phase. (A timer may be a reload's timeout: its step is checked by `reload` below.) */
const isReloadFact = (f: Fact): boolean =>
  f.kind === "reload" || f.kind === "reload-spawned" || f.kind === "reload-spawn-failed" || f.kind === "reload-exited" || f.kind === "reloading" || f.kind === "reloaded";

/** Does the service's file count this end as a clean exit? */
export const isSuccess = (def: ServiceDef, status: ExitStatus): boolean =>
  def.successExit.some((x) => (typeof x === "number" ? status.code === x : status.signal === x));

/** Invariant 3: the engine and the world agree on every service's process and phase. */
export function consistent(sim: Sim, names: Iterable<string>): void {
  const { world } = sim;
  const fail: Sim["fail"] = sim.fail;
  for (const name of names) {
    const s = world.engine.services.get(name);
    if (s === undefined) continue; // a bundle, or gone
    if (world.phase(name) !== s.phase) fail(`${name}: phase ${s.phase}, but the changed actions said ${world.phase(name)}`);
    const p = world.live(name);
    if (p === undefined) {
      if (s.pid !== null || s.role !== null) fail(`${name}: the engine tracks ${s.role} pid ${s.pid}, the world has no process`);
    } else if (s.role !== p.role || s.pid !== (p.reported ? p.pid : null)) {
      fail(`${name}: the engine tracks ${s.role} pid ${s.pid}, the world has ${p.role} pid ${p.pid}${p.reported ? "" : " (spawn not reported yet)"}`);
    }
    if (s.phase === "down" || s.phase === "failed") {
      if (p !== undefined) fail(`${name}: ${s.phase} with a live ${p.role} process`);
      if (s.delayed) fail(`${name}: ${s.phase} but waiting to restart`);
    }
    if (s.delayed && s.phase !== "starting") fail(`${name}: waiting to restart while ${s.phase}`);
    if (s.reload !== null) {
      if (s.phase !== "up") fail(`invariant r: ${name} reloads while ${s.phase}`);
      const r = world.reloadCommand(name);
      if (s.reload.pid !== null && (r === undefined || r.pid !== s.reload.pid || !r.reported)) fail(`${name}: the engine's reload command is pid ${s.reload.pid}, the world's ${r?.pid}`);
      if (!s.reload.command && s.reload.pid !== null) fail(`${name}: a reload command pid ${s.reload.pid} that does not run`);
    }
    if (s.stopCommand !== null) {
      if (s.phase !== "stopping") fail(`${name}: a stop command under way while ${s.phase}`);
      const c = world.reloadCommand(name);
      if (s.stopCommand.pid !== null && (c === undefined || c.pid !== s.stopCommand.pid)) fail(`${name}: the engine's stop command is pid ${s.stopCommand.pid}, the world's ${c?.pid}`);
    }
    if (s.postStart !== null) {
      if (s.phase !== "starting") fail(`${name}: a post-start under way while ${s.phase}`);
      const c = world.reloadCommand(name);
      if (s.postStart.pid !== null && (c === undefined || c.pid !== s.postStart.pid)) fail(`${name}: the engine's post-start is pid ${s.postStart.pid}, the world's ${c?.pid}`);
    }
    if (s.findingMain && (s.phase !== "starting" || p !== undefined)) fail(`${name}: looking for its main while ${s.phase}${p === undefined ? "" : ` with a live ${p.role}`}`);
  }
}
