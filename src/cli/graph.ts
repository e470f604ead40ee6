// `tend graph [NAME] [--format dot|svg]`: the dependency graph of the installed
// database (STATE/db.json), read here, with no server: what `tend compile` installed is
// what it draws, whether a server runs it yet or not (`tend apply` makes it run).
// On a terminal it prints DOT unless told; to a file or a pipe, SVG.

import { readDatabase } from "../compile/database.js";
import { didYouMean } from "../config/diagnostics.js";
import { graphDot } from "../graph/graph-dot.js";
import { dependencyGraph, reachedFrom } from "../graph/graph-model.js";
import { graphSvg } from "../graph/graph-svg.js";
import type { Places } from "../places.js";
import { UsageError, UserError } from "./errors.js";
import type { Output } from "./output.js";

export type GraphFormat = "dot" | "svg";

/** The format asked for, or the default for where the output goes; a UsageError for another word. */
export function graphFormat(given: string | undefined, toTerminal: boolean): GraphFormat {
  if (given === undefined) return toTerminal ? "dot" : "svg";
  if (given === "dot" || given === "svg") return given;
  throw new UsageError(`--format takes dot or svg, not '${given}'`, "graph");
}

export function graph(places: Places, out: Output, name: string | undefined, format: GraphFormat): number {
  const db = readDatabase(places.state);
  if (!db.ok) throw new UserError(db.message);
  const whole = dependencyGraph(db.database);
  const shown = name === undefined ? whole : reachedFrom(whole, name);
  if (shown === null) {
    const hint = didYouMean(name!, whole.nodes.map((n) => n.name));
    throw new UserError(`unknown service or bundle: ${name}${hint} (not in the installed database, generation ${db.database.generation})`);
  }
  if (out.json) return out.data(shown), 0;
  if (format === "dot") {
    out.line(graphDot(shown).trimEnd());
    return 0;
  }
  out.line(graphSvg(shown, graphCaption(name, shown.nodes.length, db.database.generation)).trimEnd());
  return 0;
}

/** What the picture says it shows. */
export function graphCaption(name: string | undefined, count: number, generation: number): string {
  const what = name === undefined ? "every service and bundle" : `what ${name} needs and what needs it`;
  return `tend graph: ${what} (${count}), database generation ${generation}`;
}
