// Evaluating `start-on` / `stop-on` conditions (Upstart's model, made exact):
//
// - a level atom (`net.eth0=up`) is true while the level's current value matches;
// - an edge atom (`block-added DEVNAME=/dev/sd*`, `stopping db`) becomes true when a
//   matching event occurs and stays *latched* until the condition fires;
// - the condition fires when, after an event or a level change, the whole expression
//   is true; its latches are then reset. The values of the events that made it true
//   (and TEND_EVENT, the last one's name) become the job's environment.
//
// A condition made of levels only is a "while": it holds exactly as long as the
// levels match (see `holds`), which is how a service follows an interface.
//
// Pure: the caller keeps the latches (plain data) and passes the levels.

import { globMatch, type Condition } from "../config/condition.js";
import { own } from "../records.js";

/** Something that happened: an edge event, or a job event of a service. */
export type Occurrence =
  | { kind: "event"; name: string; values: Readonly<Record<string, string>> }
  | { kind: "job"; verb: "starting" | "started" | "stopping" | "stopped"; service: string; values: Readonly<Record<string, string>> };

/** Latched edge atoms of one condition, by atom index, with the values that latched them. */
export type Latches = Map<number, Record<string, string>>;

export type Levels = ReadonlyMap<string, string>;

type Atom = Exclude<Condition, { kind: "and" | "or" }>;

const atomCache = new WeakMap<Condition, Atom[]>();

/** The condition's atoms in a fixed order: their indexes name the latches. */
function atomsOf(condition: Condition): Atom[] {
  let atoms = atomCache.get(condition);
  if (atoms === undefined) {
    const found: Atom[] = [];
    const walk = (c: Condition): void => {
      if (c.kind === "and" || c.kind === "or") c.of.forEach(walk);
      else found.push(c);
    };
    walk(condition);
    atomCache.set(condition, (atoms = found));
  }
  return atoms;
}

const matches = (match: Readonly<Record<string, string>>, values: Readonly<Record<string, string>>): boolean =>
  Object.entries(match).every(([key, glob]) => {
    const value = own(values, key);
    return value !== undefined && globMatch(glob, value);
  });

function atomMatches(atom: Atom, occurrence: Occurrence): boolean {
  if (atom.kind === "event") return occurrence.kind === "event" && occurrence.name === atom.name && matches(atom.match, occurrence.values);
  if (atom.kind === "job") {
    return occurrence.kind === "job" && occurrence.verb === atom.verb && occurrence.service === atom.service && matches(atom.match, occurrence.values);
  }
  return false;
}

/** Is the condition true now, given its latches and the current levels? */
export function holds(condition: Condition, latches: Latches, levels: Levels): boolean {
  let next = 0;
  const value = (c: Condition): boolean => {
    if (c.kind === "and" || c.kind === "or") {
      // Evaluate every child, so that atom indexes stay in step with atomsOf's order.
      const results = c.of.map(value);
      return c.kind === "and" ? results.every(Boolean) : results.some(Boolean);
    }
    const index = next++;
    if (c.kind === "level") {
      const current = levels.get(c.name);
      return current !== undefined && globMatch(c.value, current);
    }
    return latches.has(index);
  };
  return value(condition);
}

/** Does the condition mention no edge events at all (a pure "while" over levels)? */
export const levelsOnly = (condition: Condition): boolean => atomsOf(condition).every((a) => a.kind === "level");

/** Does the condition mention this level? */
export const mentionsLevel = (condition: Condition, level: string): boolean => atomsOf(condition).some((a) => a.kind === "level" && a.name === level);

export interface Firing {
  /** The environment the job gets: the values of the events that made the condition true. */
  env: Record<string, string>;
}

/**
 * An event occurred: latch the atoms it matches, then fire if the condition now holds.
 * Returns the firing (and resets the latches) or null.
 */
export function observe(condition: Condition, latches: Latches, occurrence: Occurrence | null, levels: Levels): Firing | null {
  const atoms = atomsOf(condition);
  let latched = false;
  if (occurrence !== null) {
    atoms.forEach((atom, index) => {
      if (atomMatches(atom, occurrence)) {
        latches.set(index, { ...occurrence.values, TEND_EVENT: occurrence.kind === "event" ? occurrence.name : `${occurrence.verb} ${occurrence.service}` });
        latched = true;
      }
    });
    if (!latched) return null; // an event this condition does not mention changes nothing
  }
  if (!holds(condition, latches, levels)) return null;
  const env: Record<string, string> = {};
  for (const values of latches.values()) Object.assign(env, values);
  latches.clear();
  return { env };
}

/** The keys under which an occurrence or level change concerns this condition (see `occurrenceKey`). */
export function watchKeys(condition: Condition): string[] {
  return [...new Set(atomsOf(condition).map((a) => (a.kind === "level" ? `level:${a.name}` : a.kind === "event" ? `event:${a.name}` : `job:${a.service}`)))];
}

export const occurrenceKey = (o: Occurrence): string => (o.kind === "event" ? `event:${o.name}` : `job:${o.service}`);

/**
 * The condition with `$KEY` in its match patterns replaced by the instance's value, so
 * that `stop-on = block-removed DEVNAME=$DEVNAME` stops the instance for that device.
 */
export function bindCondition(condition: Condition, env: Readonly<Record<string, string>> | null): Condition {
  if (env === null || !JSON.stringify(condition).includes("$")) return condition;
  const bind = (glob: string): string => glob.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, key: string) => (own(env, key) ?? whole).replace(/[*?[\]]/g, "[$&]"));
  const walk = (c: Condition): Condition => {
    switch (c.kind) {
      case "and":
      case "or":
        return { kind: c.kind, of: c.of.map(walk) };
      case "level":
        return { ...c, value: bind(c.value) };
      case "event":
      case "job":
        return { ...c, match: Object.fromEntries(Object.entries(c.match).map(([k, v]) => [k, bind(v)])) };
    }
  };
  return walk(condition);
}
