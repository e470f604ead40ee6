// `tend cat NAME` (the service file the server's definition came from, as systemctl
// cat shows a unit) and `tend show NAME` (that definition as compiled: every default
// filled in). Both ask the server rather than read the database here: the server knows
// what it runs (the installed database may be newer, not applied), instances of
// templates exist only there, and the database is in a directory only root may read.

import type { Places } from "../places.js";
import { request } from "./client.js";
import { paint, type Output } from "./output.js";

export async function cat(places: Places, out: Output, name: string): Promise<number> {
  const result = await request(places, { cmd: "cat", name });
  if (out.json) return out.data(result), 0;
  const changed = result.changed === true ? ` (changed since it was compiled: the server runs what it held then; 'tend apply' runs this)` : "";
  out.line(paint(out, "bold", `# ${result.path}${changed}`));
  if (result.text !== "") out.line(result.text.replace(/\n$/, ""));
  return 0;
}

export async function show(places: Places, out: Output, name: string): Promise<number> {
  const result = await request(places, { cmd: "show", name });
  if (out.json) return out.data(result), 0;
  out.line(`generation=${result.generation}`);
  for (const [key, value] of Object.entries(result.definition)) out.line(`${key}=${shown(value)}`);
  return 0;
}

/** A field's value on one line: a string as it is, a list of references as their names, anything else as JSON. */
function shown(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.length > 0 && value.every(isReference)) return value.map((r) => r.name).join(" ");
  return JSON.stringify(value);
}

const isReference = (v: unknown): v is { name: string } =>
  typeof v === "object" && v !== null && Object.keys(v).length === 3 && typeof (v as { name?: unknown }).name === "string" && "line" in v && "col" in v;
