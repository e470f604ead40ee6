// `tend analyze plot`: the recorded boot (or the last start, when no boot is recorded)
// as an SVG timeline on stdout (`tend analyze plot > boot.svg`), or with --json the
// rows it draws. `tend analyze` fetches the timeline; this draws it.

import { spanOf } from "../analyze/blame.js";
import type { Timeline } from "../analyze/timeline.js";
import { orderingOf, plotData, plotSvg } from "../analyze/plot-svg.js";
import type { ResolvedGraph } from "../compile/graph.js";
import { UserError } from "./errors.js";
import type { Output } from "./output.js";

/** Draws `timeline`'s boot, or its last start; with the server's `graph` (the timings request has it), the connectors too. */
export function plotCommand(out: Output, timeline: Timeline, graph?: ResolvedGraph): number {
  const span = spanOf(timeline);
  if (span === null) throw new UserError("nothing is recorded to plot yet: no boot and no start since the record began");
  const data = plotData(span);
  if (out.json) return out.data(data), 0;
  const when = new Date(span.at).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const what = span.kind === "boot" ? `the boot of ${when}` : `the start of ${span.names.join(" ")} at ${when}`;
  const dropped = span.dropped > 0 ? `; ${span.dropped} later transitions not recorded` : "";
  out.line(plotSvg(data, `tend analyze plot: ${what}, ${data.rows.length} services${dropped}`, { orderedAfter: graph === undefined ? undefined : orderingOf(graph) }).trimEnd());
  return 0;
}
