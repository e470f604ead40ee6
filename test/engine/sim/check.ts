// What every invariant of the simulation is given, and what it answers to: it watches
// the world's steps (see world.ts), and is asked once the world is quiet with the
// commands over, and once more after the shutdown.

import type { Phase, SpawnRole } from "../../../src/engine/types.js";
import type { Observer, World } from "./world.js";

export interface Sim {
  readonly world: World;
  /** Check every service after every step, not only the ones the step touched (slow on big graphs). */
  readonly thorough: boolean;
  fail(message: string): never;
  count(key: string): void;
}

export interface Check extends Observer {
  /** Quiet, the commands over, before the shutdown. */
  settled?(): void;
  /** After the shutdown. */
  shutDown?(): void;
}

/** Coming up, up or running: active, and not on its way down. */
export const ACTIVE: readonly Phase[] = ["starting", "up", "running"];
/** The roles whose process begins a start (or a task's run). */
export const START_ROLES: readonly SpawnRole[] = ["pre-start", "launcher", "main", "up"];

/** Active as DESIGN.md says it: running a process, about to, up, or on its way down. */
export const isActive = (phase: Phase): boolean => phase !== "down" && phase !== "failed";
