// W1's chart, drawn by hand as SVG (no library): three panels against N, the number of
// services — the time to start all, the time to stop all, and the manager's memory with
// all up — one line per manager, the median with its min–max as a bar. Both axes are
// logarithmic, so that managers a hundred times apart fit one panel and the slope of a
// line is how its cost grows (slope 1: linear in N). For s6 and runit, whose memory is a
// scanner plus one supervisor per service, the dashed line counts the pages they all
// share once (see Memory in processes.ts); the solid line adds up every VmRSS.

import type { W1Point } from "../workloads/w1-flat.js";

export interface W1Details {
  points: Record<string, W1Point[]>;
  managers?: Record<string, string>;
}

const COLOURS: Record<string, string> = {
  tend: "#d62728",
  dinit: "#8c564b",
  s6: "#1f77b4",
  runit: "#2ca02c",
  supervisord: "#9467bd",
  pm2: "#ff7f0e",
};

const W = 1140;
const H = 480;
const PANEL_W = 300;
const PANEL_H = 300;
const TOP = 92;
const LEFT = 70;
const GAP = 78;

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (x: number): string => (Math.round(x * 10) / 10).toString();

/** Ticks 1, 2, 5 × 10^k covering [lo, hi]. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** k;
      if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t);
    }
  }
  return ticks;
}

function label(x: number, unit: string): string {
  if (unit === "ms" && x >= 1000) return `${x / 1000} s`;
  if (unit === "MB") return `${x.toLocaleString("en-US")} MB`;
  return `${x} ${unit}`;
}

interface Series {
  subject: string;
  dashed?: boolean;
  points: { n: number; y: number; lo?: number; hi?: number }[];
}

function panel(x0: number, title: string, unit: string, series: Series[], sizes: number[]): string {
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y])).filter((y) => y > 0 && Number.isFinite(y));
  if (ys.length === 0) return "";
  const lo = 10 ** Math.floor(Math.log10(Math.min(...ys)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  const nLo = Math.min(...sizes) * 0.8;
  const nHi = Math.max(...sizes) * 1.2;
  const px = (n: number): number => x0 + ((Math.log(n) - Math.log(nLo)) / (Math.log(nHi) - Math.log(nLo))) * PANEL_W;
  const py = (y: number): number => TOP + PANEL_H - ((Math.log(y) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * PANEL_H;
  const out: string[] = [];
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP - 12}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  out.push(`<rect x="${x0}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#888"/>`);
  for (const t of logTicks(lo, hi)) {
    const y = fmt(py(t));
    out.push(`<line x1="${x0}" x2="${x0 + PANEL_W}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${esc(label(t, unit))}</text>`);
  }
  for (const n of sizes) {
    const x = fmt(px(n));
    out.push(`<line x1="${x}" x2="${x}" y1="${TOP}" y2="${TOP + PANEL_H}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x}" y="${TOP + PANEL_H + 16}" text-anchor="middle" font-size="11">${n}</text>`);
  }
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${TOP + PANEL_H + 34}" text-anchor="middle" font-size="12">services (N)</text>`);
  for (const s of series) {
    const colour = COLOURS[s.subject] ?? "#333";
    const width = s.subject === "tend" ? 3 : 2;
    const pts = s.points.filter((p) => p.y > 0);
    if (pts.length === 0) continue;
    const path = pts.map((p, i) => `${i === 0 ? "M" : "L"}${fmt(px(p.n))},${fmt(py(p.y))}`).join(" ");
    out.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="${width}"${s.dashed ? ' stroke-dasharray="5,4"' : ""}/>`);
    for (const p of pts) {
      const x = fmt(px(p.n));
      if (p.lo !== undefined && p.hi !== undefined && p.hi > p.lo) {
        out.push(`<line x1="${x}" x2="${x}" y1="${fmt(py(p.lo))}" y2="${fmt(py(p.hi))}" stroke="${colour}" stroke-width="1.5"/>`);
      }
      out.push(`<circle cx="${x}" cy="${fmt(py(p.y))}" r="${s.dashed ? 2.5 : 3.5}" fill="${s.dashed ? "#fff" : colour}" stroke="${colour}"><title>${esc(`${s.subject}${s.dashed ? " (shared pages once)" : ""}, N = ${p.n}: ${fmt(p.y)} ${unit}${p.lo !== undefined ? ` (${fmt(p.lo)}–${fmt(p.hi!)})` : ""}`)}</title></circle>`);
    }
  }
  return out.join("\n");
}

export function w1Chart(details: W1Details, meta: { machine: string; date: string; quick: boolean }): string {
  const subjects = Object.keys(details.points).sort((a, b) => (a === "tend" ? -1 : b === "tend" ? 1 : Object.keys(COLOURS).indexOf(a) - Object.keys(COLOURS).indexOf(b)));
  const sizes = [...new Set(subjects.flatMap((s) => details.points[s]!.map((p) => p.n)))].sort((a, b) => a - b);
  const time = (pick: (p: W1Point) => W1Point["startMs"]): Series[] =>
    subjects.map((subject) => ({ subject, points: details.points[subject]!.map((p) => ({ n: p.n, y: pick(p).median, lo: pick(p).min, hi: pick(p).max })) }));
  const memory: Series[] = subjects.flatMap((subject) => {
    const pts = details.points[subject]!;
    const rss: Series = { subject, points: pts.map((p) => ({ n: p.n, y: p.rssMiB })) };
    const shared = pts.some((p) => Math.abs(p.rssMiB - p.sharedOnceMiB) > 0.05 * p.rssMiB);
    return shared ? [rss, { subject, dashed: true, points: pts.map((p) => ({ n: p.n, y: p.sharedOnceMiB })) }] : [rss];
  });
  const legend = subjects
    .map((s, i) => {
      const x = LEFT + i * 150;
      const y = H - 30;
      return `<line x1="${x}" x2="${x + 24}" y1="${y}" y2="${y}" stroke="${COLOURS[s] ?? "#333"}" stroke-width="${s === "tend" ? 3 : 2}"/><text x="${x + 30}" y="${y}" dominant-baseline="middle" font-size="12">${esc(details.managers?.[s] ?? s)}</text>`;
    })
    .join("\n");
  const runs = Math.max(...subjects.flatMap((s) => details.points[s]!.map((p) => p.runs)));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${LEFT - 50}" y="24" font-size="16" font-weight="bold">W1: N independent services — start, stop and memory against N (median, bar: min–max of ${runs} round${runs === 1 ? "" : "s"})</text>`,
    `<text x="${LEFT - 50}" y="44" font-size="12" fill="#555">${esc(`${meta.machine}, ${meta.date}${meta.quick ? ", --quick" : ""}. Both axes logarithmic: a line of slope 1 is a cost linear in N.`)}</text>`,
    `<text x="${LEFT - 50}" y="60" font-size="12" fill="#555">${esc("Memory: Σ VmRSS of the manager's own processes (for s6 and runit the scanner and every supervisor); dashed: the same with the pages all supervisors share counted once.")}</text>`,
    panel(LEFT, "start all, until all reported up", "ms", time((p) => p.startMs), sizes),
    panel(LEFT + PANEL_W + GAP, "stop all, until all gone", "ms", time((p) => p.stopMs), sizes),
    panel(LEFT + 2 * (PANEL_W + GAP), "manager's memory, all up", "MB", memory, sizes),
    legend,
    "</svg>",
    "",
  ].join("\n");
}
