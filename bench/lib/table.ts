// Prints rows as an aligned plain-text table (and the same rows as Markdown, for docs).

import type { CaseResult, Unit } from "./workload.js";

export const HEADERS = ["workload", "case", "median", "min–max", "runs", "goal", "verdict", "tend ÷ this"] as const;

export function ms(x: number): string {
  if (!Number.isFinite(x)) return "—";
  const digits = Math.abs(x) >= 100 ? 0 : 1;
  return `${x.toFixed(digits)} ms`;
}

/** A value in its unit: "52.5 ms", "48.3 MB", "1.32×", "97.0%", "0" (a count). */
export function valueOf(x: number, unit: Unit = "ms"): string {
  if (!Number.isFinite(x)) return "—";
  switch (unit) {
    case "ms":
      return ms(x);
    case "MB":
      return `${x.toFixed(1)} MB`;
    case "ratio":
      return `${x.toFixed(2)}×`;
    case "per-s":
      return `${Math.round(x).toLocaleString("en-US")}/s`;
    case "%":
      return `${x.toFixed(1)}%`;
    case "count":
      return Math.round(x).toLocaleString("en-US");
  }
}

function range(min: number, max: number, unit: Unit = "ms"): string {
  const digits = unit === "ratio" ? 2 : unit === "MB" || unit === "%" ? 1 : Math.abs(max) >= 100 || Math.abs(min) >= 100 ? 0 : 1;
  if (unit === "per-s" || unit === "count") return `${Math.round(min).toLocaleString("en-US")}–${Math.round(max).toLocaleString("en-US")}`;
  return `${min.toFixed(digits)}–${max.toFixed(digits)}`;
}

/** A ratio with two significant digits at least: 0.031×, 0.52×, 1.4×, 23×. */
function ratio(x: number, sign = true): string {
  if (!Number.isFinite(x)) return "—";
  const digits = x >= 10 ? 0 : x >= 1 ? 1 : x >= 0.1 ? 2 : 3;
  return `${x.toFixed(digits)}${sign ? "×" : ""}`;
}

export function cells(row: CaseResult): string[] {
  const unit = row.unit ?? "ms";
  const vs = row.vsTend === undefined ? "" : row.vsTend.n > 1 ? `${ratio(row.vsTend.median)} (${ratio(row.vsTend.min, false)}–${ratio(row.vsTend.max, false)})` : ratio(row.vsTend.median);
  return [row.workload, row.case, valueOf(row.stats.median, unit), range(row.stats.min, row.stats.max, unit), String(row.stats.n), row.goal?.text ?? "—", row.verdict === "info" ? "—" : row.verdict, vs];
}

/** Column alignment: numbers right, text left. */
const RIGHT = new Set([2, 3, 4, 7]);

export function formatTable(rows: readonly CaseResult[]): string {
  const body = rows.map(cells);
  const widths = HEADERS.map((h, i) => Math.max([...h].length, ...body.map((r) => [...r[i]!].length)));
  const pad = (text: string, i: number): string => {
    const fill = " ".repeat(widths[i]! - [...text].length);
    return RIGHT.has(i) ? fill + text : text + fill;
  };
  const line = (r: readonly string[]): string => r.map(pad).join("  ").trimEnd();
  return [line(HEADERS), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export function formatMarkdown(rows: readonly CaseResult[]): string {
  const esc = (s: string): string => s.replace(/\|/g, "\\|");
  return [
    `| ${HEADERS.join(" | ")} |`,
    `|${HEADERS.map((_, i) => (RIGHT.has(i) ? "---:" : "---")).join("|")}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(" | ")} |`),
  ].join("\n");
}
