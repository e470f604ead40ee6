// `tend analyze plot`: a recorded boot (or start) as an SVG timeline, as
// systemd-analyze plot draws one. A row per service, sorted by when it began to start;
// its runs (timeline.ts `runsOf`) as bars: waiting (asked, not yet started: what it
// needs is not ready), held (its hooks or a restart delay), starting (spawned, not yet
// ready), up, stopping; a mark where it became ready, with how long that took; a red
// end where it failed. Where the ordering is given (the database's `after`, requires
// and wants included), a thin connector goes from the service it waited for last to
// where it began. A time axis above and below; 16 px a row, names at 11 px, so 500
// rows are a long picture one scrolls, each line legible. Pure.

import type { ResolvedGraph } from "../compile/graph.js";
import { clip, element, num, svgDocument, text, textWidth, title } from "../draw/svg.js";
import { runsOf, type Run, type Span } from "./timeline.js";

const MARGIN = 16;
const ROW = 16;
const BAR = 10;
const NAME_SIZE = 11;
const NAME_CHARS = 48;
const AXIS = 24;
const PLOT_WIDTH = 1100;
/** Room right of the time area for the last bar's label. */
const RIGHT = 90;

/** What a plot is drawn from: one span's runs, grouped a row per service. */
export interface PlotData {
  kind: Span["kind"];
  names: string[];
  at: number;
  completeAt: number | null;
  /** The last time recorded: where a run still going is drawn to. */
  end: number;
  rows: PlotRow[];
}

export interface PlotRow {
  service: string;
  /** Its runs, oldest first; none when it was asked for and never began to start. */
  runs: Run[];
  /** When a command asked for it, for a row with no run. */
  asked: number | null;
}

/** The rows of `span`, sorted by when each service first began to start (never: last), then by name. */
export function plotData(span: Span): PlotData {
  const runs = runsOf(span.transitions);
  const rows = new Map<string, PlotRow>();
  for (const run of runs) (rows.get(run.service) ?? rows.set(run.service, { service: run.service, runs: [], asked: run.asked }).get(run.service)!).runs.push(run);
  let end = span.completeAt ?? span.at;
  for (const t of span.transitions) {
    end = Math.max(end, t.at);
    if (t.kind === "asked" && t.command !== "stop" && !rows.has(t.service)) rows.set(t.service, { service: t.service, runs: [], asked: t.at });
  }
  for (const s of span.services) if (!rows.has(s)) rows.set(s, { service: s, runs: [], asked: null });
  const first = (r: PlotRow): number => r.runs[0]?.starting ?? Infinity;
  const sorted = [...rows.values()].sort((a, b) => first(a) - first(b) || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return { kind: span.kind, names: span.names, at: span.at, completeAt: span.completeAt, end, rows: sorted };
}

/** A duration as people read it: `250 ms`, `1.25 s`, `3 min 20 s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(Math.round(ms / 10) / 100).toString()} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min${s % 60 === 0 ? "" : ` ${s % 60} s`}`;
}

/** Ticks 1, 2, 5 × 10^k apart, about eight of them over `length` ms. */
function ticks(length: number): number[] {
  const rough = Math.max(length, 1) / 8;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const out: number[] = [];
  for (let t = 0; t <= length + 1e-9; t += step) out.push(t);
  return out;
}

const COLOURS = {
  waiting: "#e2e8f0",
  held: "#fbd38d",
  starting: "#f6ad55",
  running: "#90cdf4",
  up: "#c6f6d5",
  stopping: "#d6bcfa",
  ready: "#1a202c",
  failed: "#e53e3e",
  connector: "#4a5568",
} as const;

const STYLE = [
  `text{fill:#1a202c}`,
  `.n{font-size:${NAME_SIZE}px}`,
  `.f{fill:${COLOURS.failed}}`,
  `.a{font-size:10px;fill:#4a5568}`,
  `.c{font-size:14px;font-weight:bold}`,
  `.d{font-size:9px;fill:#2d3748}`,
  `.grid{stroke:#edf2f7;stroke-width:1}`,
  `.k{stroke:${COLOURS.connector};stroke-width:0.8;fill:none;opacity:0.7}`,
  `.r{stroke:${COLOURS.ready};stroke-width:1.5}`,
  ...(["waiting", "held", "starting", "running", "up", "stopping"] as const).map((k) => `.b-${k}{fill:${COLOURS[k]}}`),
].join("\n");

export interface PlotOptions {
  /** Each service's ordering (the database's resolved `after`: requires and wants included), for the connectors; none drawn without it. */
  orderedAfter?: Readonly<Record<string, readonly string[]>>;
}

/** Each service's ordering in `graph` (requires and wants included): what the connectors follow. */
export const orderingOf = (graph: ResolvedGraph): Record<string, string[]> => Object.fromEntries(Object.entries(graph.services).map(([k, v]) => [k, v.after]));

/** The picture of `data`; `caption` says what it shows. */
export function plotSvg(data: PlotData, caption: string, options: PlotOptions = {}): string {
  const nameWidth = Math.max(80, ...data.rows.map((r) => textWidth(clip(r.service, NAME_CHARS), NAME_SIZE))) + 12;
  const length = Math.max(data.end - data.at, 1) * 1.02;
  const x0 = MARGIN + nameWidth;
  const x = (t: number): number => x0 + ((t - data.at) / length) * PLOT_WIDTH;
  const legendY = MARGIN + 36;
  const top = legendY + 22 + AXIS;
  const rowY = (i: number): number => top + i * ROW;
  const bottom = rowY(data.rows.length);
  const width = x0 + PLOT_WIDTH + RIGHT;
  const body: string[] = [`<defs><marker id="k" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" markerHeight="6" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="${COLOURS.connector}"/></marker></defs>`];
  body.push(text(MARGIN, MARGIN + 14, caption, { class: "c" }));

  // The legend: a swatch per kind of bar, the readiness mark, a failure, a connector.
  let lx = MARGIN;
  const swatch = (cls: string, label: string): void => {
    body.push(element("rect", { class: cls, x: lx, y: legendY, width: 18, height: BAR }), text(lx + 22, legendY + 9, label, { class: "a" }));
    lx += 22 + textWidth(label, 10) + 16;
  };
  swatch("b-waiting", "waiting for what it needs");
  swatch("b-held", "its hooks, a restart delay");
  swatch("b-starting", "starting");
  swatch("b-running", "a task running");
  swatch("b-up", "up");
  swatch("b-stopping", "stopping");
  body.push(element("line", { class: "r", x1: lx + 4, y1: legendY - 2, x2: lx + 4, y2: legendY + BAR + 2 }), text(lx + 10, legendY + 9, "ready (and how long from its start)", { class: "a" }));
  lx += 10 + textWidth("ready (and how long from its start)", 10) + 16;
  body.push(element("rect", { class: "f", x: lx, y: legendY, width: 4, height: BAR }), text(lx + 8, legendY + 9, "failed", { class: "a" }));
  lx += 8 + textWidth("failed", 10) + 16;
  if (options.orderedAfter !== undefined) {
    body.push(element("path", { class: "k", d: `M${num(lx)},${num(legendY + 5)} H${num(lx + 18)}`, "marker-end": "url(#k)" }), text(lx + 22, legendY + 9, "waited for", { class: "a" }));
  }

  // Rows shaded every other one, the grid and the axes.
  data.rows.forEach((_, i) => {
    if (i % 2 === 1) body.push(element("rect", { x: MARGIN, y: rowY(i), width: width - 2 * MARGIN, height: ROW, fill: "#f7fafc" }));
  });
  for (const t of ticks(length)) {
    const tx = x0 + (t / length) * PLOT_WIDTH;
    body.push(element("line", { class: "grid", x1: tx, y1: top - 4, x2: tx, y2: bottom + 4 }));
    body.push(text(tx, top - 8, duration(t), { class: "a", "text-anchor": "middle" }), text(tx, bottom + 16, duration(t), { class: "a", "text-anchor": "middle" }));
  }
  // The boot's completion, drawn over the bars.
  const complete: string[] = [];
  if (data.completeAt !== null) {
    const cx = x(data.completeAt);
    complete.push(element("line", { x1: cx, y1: top - 4, x2: cx, y2: bottom + 4, stroke: "#2f855a", "stroke-width": 1.2, "stroke-dasharray": "4 3" }));
    complete.push(text(cx + 4, bottom + 30, `${data.kind === "boot" ? "boot" : "start"} complete: ${duration(data.completeAt - data.at)}`, { class: "a" }));
  }

  // When each service became ready (or ended) in each of its runs, for the connectors.
  const rowOf = new Map(data.rows.map((r, i) => [r.service, i]));
  const settled = new Map(data.rows.map((r) => [r.service, r.runs.flatMap((run) => (run.ready ?? run.ended) ?? [])]));
  /** The last time `service` settled by `t`, if it did. */
  const settledBy = (service: string, t: number): number | undefined => {
    let last: number | undefined;
    for (const s of settled.get(service) ?? []) if (s <= t + 0.5 && (last === undefined || s > last)) last = s;
    return last;
  };

  // The connectors go under the bars: a long one is seen in the gaps, never over a label.
  const connectors: string[] = [];
  const bars: string[] = [];
  data.rows.forEach((row, i) => {
    const y = rowY(i);
    const bar = (cls: string, from: number, to: number): void => {
      if (to > from) bars.push(element("rect", { class: cls, x: x(from), y: y + (ROW - BAR) / 2, width: Math.max(0.5, x(to) - x(from)), height: BAR }));
    };
    const failed = row.runs.some((r) => r.failed !== null);
    const tip: string[] = [row.service];
    if (row.runs.length === 0) {
      tip.push(row.asked === null ? "never began to start" : `asked at +${duration(row.asked - data.at)}; never began to start`);
      if (row.asked !== null) bar("b-waiting", row.asked, data.end);
    }
    for (const run of row.runs) {
      const stop = run.ended ?? data.end;
      if (run.asked !== null) bar("b-waiting", run.asked, run.starting);
      const readyOrStop = run.ready ?? run.stopping ?? stop;
      if (run.spawned !== null && run.waits.length > 0) bar("b-held", run.starting, run.spawned);
      bar(run.task ? "b-running" : "b-starting", run.spawned !== null && run.waits.length > 0 ? run.spawned : run.starting, run.task ? (run.ready ?? stop) : readyOrStop);
      if (!run.task && run.ready !== null) bar("b-up", run.ready, run.stopping ?? stop);
      if (run.stopping !== null) bar("b-stopping", run.stopping, stop);
      if (run.ready !== null) {
        const rx = x(run.ready);
        bars.push(element("line", { class: "r", x1: rx, y1: y + 1, x2: rx, y2: y + ROW - 1 }));
        bars.push(text(rx + 3, y + 11.5, duration(run.ready - run.starting), { class: "d" }));
      }
      if (run.failed !== null) bars.push(element("rect", { class: "f", x: x(stop) - 1, y: y + 1, width: 4, height: ROW - 2 }));
      const at = (label: string, t: number | null): string | null => (t === null ? null : `${label} +${duration(t - data.at)}`);
      tip.push([at("asked", run.asked), at("starting", run.starting), at("spawned", run.spawned), at(run.task ? "done" : "ready", run.ready), at("stopping", run.stopping), at("ended", run.ended)].filter((s) => s !== null).join(", "));
      for (const w of run.waits) tip.push(`+${duration(w.at - data.at)} ${w.why}`);
      if (run.failed !== null) tip.push(`failed: ${run.failed}`);
    }
    bars.push(`<g>${title(tip.join("\n"))}${text(x0 - 8, y + 12, clip(row.service, NAME_CHARS), { class: failed ? "n f" : "n", "text-anchor": "end" })}</g>`);

    // The connector: from the last of what it is ordered after to settle before its first run began.
    const first = row.runs[0];
    const after = options.orderedAfter?.[row.service];
    if (first === undefined || after === undefined) return;
    let waitedFor: { row: number; at: number } | null = null;
    for (const d of after) {
      const t = settledBy(d, first.starting);
      const r = rowOf.get(d);
      if (t !== undefined && r !== undefined && (waitedFor === null || t > waitedFor.at)) waitedFor = { row: r, at: t };
    }
    if (waitedFor === null || first.starting - data.at < 0.5) return;
    const fx = x(waitedFor.at);
    const down = waitedFor.row < i;
    const fy = rowY(waitedFor.row) + ROW / 2 + (down ? BAR / 2 : -BAR / 2);
    const ty = y + ROW / 2;
    const tx = x(first.starting);
    // Straight into the bar when it began as the other became ready; else along the row to where it began.
    const d = tx - fx > 3 ? `M${num(fx)},${num(fy)} V${num(ty)} H${num(tx)}` : `M${num(fx)},${num(fy)} V${num(ty + (down ? -BAR / 2 : BAR / 2))}`;
    connectors.push(element("path", { class: "k", d, "marker-end": "url(#k)" }));
  });
  body.push(...connectors, ...bars, ...complete);
  return svgDocument(width, bottom + 40 + MARGIN, body, STYLE);
}
