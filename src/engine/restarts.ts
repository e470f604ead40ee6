// A longrun whose main exits on its own (docs/DESIGN.md: restarted by its policy,
// with a delay that doubles up to restart-delay-max and resets after a stable run; at
// the restart limit, failed and held), and what an admin's start clears of that.

import { defOf, stateOf, type Step } from "./engine.js";
import { seconds } from "./processes.js";
import type { Outcome } from "./types.js";
import { wantsUp } from "./wanted.js";

/** Clear what keeps a service from starting automatically: an admin is asking for it. */
export function release(ctx: Step, name: string): void {
  const s = stateOf(ctx.e, name);
  s.held = false;
  // On its way down to a held state (its start timed out, its run ended): the admin's
  // start holds for what comes after, so it starts again once stopped.
  if (s.outcome !== null && s.outcome.to !== "restart") s.outcome = { ...s.outcome, held: false };
  s.restarts = [];
  s.backoffMs = defOf(ctx.e, name).restartDelayMs;
  ctx.dirty.add(name);
}

/** A longrun's main process exited on its own: restart it, or say why not. */
export function afterCrash(ctx: Step, name: string, ok: boolean, described: string): Outcome {
  const def = defOf(ctx.e, name);
  const s = stateOf(ctx.e, name);
  const restart = def.restart === "always" || (def.restart === "on-failure" && !ok);
  // Not restarted by itself: held. On its way down anyway (a stop, a bounce, an apply, a
  // shutdown): not held, so that it comes back as the rest of its group does.
  const held = !restart;
  if (!restart || !wantsUp(ctx.e, name)) return ok ? { to: "down", reason: `exited by itself (${described})`, held } : { to: "failed", reason: described, held };
  const limit = def.restartLimit;
  const stableMs = limit?.windowMs ?? def.restartDelayMaxMs;
  if (s.upSince !== null && ctx.now - s.upSince >= stableMs) {
    s.restarts = [];
    s.backoffMs = def.restartDelayMs;
  }
  if (limit !== null) {
    s.restarts = s.restarts.filter((t) => ctx.now - t < limit.windowMs);
    if (s.restarts.length >= limit.count) {
      return { to: "failed", reason: `restart limit hit: ${limit.count} restarts within ${seconds(limit.windowMs)}; last ${described}`, held: true };
    }
  }
  s.restarts.push(ctx.now);
  const delayMs = s.backoffMs;
  s.backoffMs = Math.min(s.backoffMs * 2, def.restartDelayMaxMs);
  return { to: "restart", delayMs };
}
