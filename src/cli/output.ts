// How the CLI writes: plain text for people (colour only on a terminal without
// NO_COLOR), JSON for scripts. Every command takes --json.

import { formatDiagnostic, type Diagnostic } from "../config/diagnostics.js";
import { isTerminal, writeErr, writeOut } from "./own-output.js";

export interface Output {
  json: boolean;
  colour: boolean;
  line(text?: string): void;
  error(text: string): void;
  data(value: unknown): void;
}

/**
 * The lines of one turn go out in one write, once the turn's code has run (a table of
 * 1,000 services is one write, not 1,000); an error first sends what was written before
 * it, so the two keep their order on a terminal.
 */
export function output(json: boolean): Output {
  const colour = !json && !process.env.NO_COLOR && process.env.TERM !== "dumb" && isTerminal(1);
  const pending: string[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = pending.join("");
    pending.length = 0;
    writeOut(text);
  };
  const write = (text: string): void => {
    if (pending.length === 0) queueMicrotask(flush);
    pending.push(text);
  };
  return {
    json,
    colour,
    line: (text = "") => write(`${text}\n`),
    error: (text) => {
      flush();
      writeErr(`tend: ${text}\n`);
    },
    data: (value) => write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

const SGR = { red: 31, yellow: 33, green: 32, bold: 1, dim: 2 } as const;

export function paint(out: Pick<Output, "colour">, style: keyof typeof SGR, text: string): string {
  return out.colour ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text;
}

export function printDiagnostic(out: Output, d: Diagnostic): void {
  const text = formatDiagnostic(d);
  out.line(out.colour ? text.replace(`: ${d.severity}:`, `: ${paint(out, d.severity === "error" ? "red" : "yellow", d.severity)}:`) : text);
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
