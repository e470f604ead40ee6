// Service files and sets for fuzzing, and the properties the parser and the compiler
// keep whatever they are fed: random bytes, text-like noise, generated key = value
// files and mutations of the example set. Used by the fuzz tests (a fast slice) and by
// `npm run fuzz` (a million sets), so that both try the same inputs.

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { compileSource, type CompileResult } from "../../src/compile/compile.js";
import { globMatch, type Condition } from "../../src/config/condition.js";
import type { Diagnostic } from "../../src/config/diagnostics.js";
import { KEYS } from "../../src/config/keys.js";
import { MAX_LINE_CHARS } from "../../src/config/lexer.js";
import type { ParsedService } from "../../src/config/parse.js";
import type { Source } from "../../src/config/source.js";
import { EXAMPLES, plain } from "../../test/helpers.js";
import { caseRandom, type Random } from "../../test/prng.js";

export const EXAMPLE_FILES: Record<string, Buffer> = Object.fromEntries(
  readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => [e.name, readFileSync(join(EXAMPLES, e.name))]),
);
export const EXAMPLE_NAMES = Object.keys(EXAMPLE_FILES);
const EXAMPLE_LINES = Object.values(EXAMPLE_FILES).flatMap((b) => b.toString("utf8").split("\n"));

const KEY_NAMES = [...Object.keys(KEYS), "comand", "Type", "x", "-", "limit-", "type "];
const VALUES = [
  "",
  " ",
  "longrun",
  "oneshot",
  "task",
  "bundle",
  "0",
  "10",
  "10s",
  "1h30m",
  "1.5s",
  "infinity",
  "-1s",
  "9".repeat(40),
  `${"9".repeat(400)}d`,
  "fd",
  "fd:3",
  "fd:0",
  "notify",
  "notify:x",
  "none",
  "tcp:127.0.0.1:80",
  "tcp:[::1]:99999",
  "tcp:",
  "unix:/run/x.sock",
  "unix:",
  "exec:",
  "exec:test -S /x",
  "exec:''",
  "5 in 30s",
  "0 in 0",
  "5 in 5",
  "none",
  "unlimited",
  "unlimited:10",
  "10:5",
  "1G:unlimited",
  "1:2:3",
  "022",
  "0999",
  "10M",
  "1K",
  "root",
  "nosuchuser",
  "1000",
  "bad name",
  "yes",
  "no",
  "maybe",
  "TERM",
  "SIGKILL",
  "SIG",
  "99",
  "0 143 TERM 256",
  "A=1",
  "NOTIFY_SOCKET=x",
  "TEND_X=1",
  "1A=2",
  "-",
  "-/etc/x",
  ".",
  "../..",
  "/bin/true",
  "sh -c 'echo hi'",
  "'unterminated",
  '"unterminated',
  "\\",
  "a\\",
  "''",
  "started web",
  "stopping db or net.eth0=up",
  "(a and b",
  "a and",
  "a or b)",
  "()",
  "started",
  "ev X=[z-a]",
  "ev X=[a",
  "ev X=[!a]",
  "ev X='a b' Y=\"c\"",
  "block-added DEVNAME=/dev/sd*",
  "started nosuch",
  "every 1h",
  "every 1ms",
  "every soon",
  "0 3 * * *",
  "60 * * * *",
  "* * * * * * *",
  "@hourly",
  "@nonsense",
  "5m after started web",
  "5m after",
  "5x after started db",
  "DEVNAME",
  "é✓",
  "\u00a0",
  "\ufeff",
  "\u2028",
  "x".repeat(200),
  ...EXAMPLE_NAMES,
  EXAMPLE_NAMES.join(" "),
];

// ---- generators --------------------------------------------------------------------

function randomBytes(rng: Random, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = rng.int(0, 255);
  return b;
}

/** Bytes that look like text: printable ASCII, blanks, newlines, '=', '\', quotes. */
function textish(rng: Random, length: number): Buffer {
  const alphabet = "abcdefghijklmnopqrstuvwxyz-=  \t\n\n\\'\"#()[]*:./0123456789\r";
  let s = "";
  for (let i = 0; i < length; i++) s += alphabet[rng.int(0, alphabet.length - 1)];
  return Buffer.from(s);
}

const digits = (rng: Random): string => {
  const n = rng.pick([1, 1, 2, 3, 5, 16, 20, 40, 400]);
  let d = String(rng.int(1, 9));
  while (d.length < n) d += String(rng.int(0, 9));
  return rng.chance(0.1) ? "0" : d;
};

/** A value made for what `key` takes, so that the value parsers are reached past the easy errors. */
function valueFor(rng: Random, key: string): string {
  const duration = (): string =>
    rng.chance(0.1)
      ? rng.pick(["infinity", "0", "", "1.5", "-1s", "1H", "s"])
      : Array.from({ length: rng.int(1, 3) }, () => `${digits(rng)}${rng.chance(0.2) ? `.${digits(rng)}` : ""}${rng.pick(["ms", "s", "m", "h", "d"])}`).join("");
  const size = (): string => `${digits(rng)}${rng.pick(["", "K", "M", "G", "T", "KiB", "mb", "X", " M"])}`;
  const limitPart = (bytes: boolean): string => (rng.chance(0.2) ? rng.pick(["unlimited", "infinity", "x", ""]) : bytes ? size() : digits(rng));
  const name = (): string => rng.pick([...EXAMPLE_NAMES, "nosuch", "a/b", "-x", "é"]);
  const condition = (): string =>
    Array.from({ length: rng.int(1, 8) }, () =>
      rng.pick(["(", ")", "and", "or", "started", "stopping", "starting", "stopped", name(), "ev", "net.eth0=up", "X=[a-c]", "X=[z-a]", "X=[!", "Y='a b'", "'q", "=", "$x", "X=1"]),
    ).join(rng.chance(0.9) ? " " : "");
  const cronField = (): string => rng.pick(["*", "0", "5", "59", "60", "*/5", "1-5", "5-1", "a", "MON", "L", "?", "1,2", "*/0"]);
  if (/timeout|delay/.test(key)) return duration();
  if (key === "log-size") return size();
  if (key.startsWith("limit-")) {
    const bytes = ["as", "core", "data", "fsize", "memlock", "rss", "stack"].includes(key.slice(6));
    return rng.chance(0.5) ? limitPart(bytes) : `${limitPart(bytes)}:${limitPart(bytes)}`;
  }
  switch (key) {
    case "type":
      return rng.pick(["longrun", "oneshot", "task", "bundle", "longrn", "Task", ""]);
    case "ready": {
      const kind = rng.pick(["none", "fd", "notify", "tcp", "unix", "exec", "tpc", ""]);
      const arg = rng.pick(["", `:${digits(rng)}`, `:127.0.0.1:${digits(rng)}`, `:[::1]:${digits(rng)}`, ":/run/x", ":rel", ":test -S /x", ":'a", `:${name()}:80`]);
      return `${kind}${arg}`;
    }
    case "restart-limit":
      return rng.chance(0.1) ? "none" : `${digits(rng)}${rng.pick([" in ", "in", " per "])}${duration()}`;
    case "stop-signal":
      return rng.pick(["TERM", "sigkill", "HUP", "SIG", "TERN", "", String(rng.int(0, 70)), digits(rng)]);
    case "success-exit":
      return Array.from({ length: rng.int(1, 4) }, () => rng.pick([String(rng.int(0, 300)), "TERM", "SIGFOO", digits(rng)])).join(" ");
    case "umask":
      return rng.pick(["022", "0027", "777", "0888", "22", digits(rng)]);
    case "log-keep":
      return digits(rng);
    case "user":
    case "group":
      return rng.pick(["root", "daemon", "nosuchuser", "1000", digits(rng), "bad name", "a$", "x".repeat(rng.int(30, 34))]);
    case "env":
      return `${rng.pick(["A", "PATH", "NOTIFY_SOCKET", "TEND_X", "LISTEN_FDS", "1A", "A-B", ""])}${rng.chance(0.9) ? "=" : ""}${rng.pick(["1", "", "a=b", "/usr/bin"])}`;
    case "requires":
    case "wants":
    case "after":
    case "before":
    case "contents":
      return Array.from({ length: rng.int(1, 4) }, name).join(" ");
    case "start-on":
    case "stop-on":
      return condition();
    case "schedule":
      return rng.pick([
        () => `every ${duration()}`,
        () => `${duration()} after ${condition()}`,
        () => Array.from({ length: rng.int(4, 7) }, cronField).join(" "),
        () => rng.pick(["@hourly", "@daily", "@weekly", "@reboot", "@nonsense"]),
      ])();
    case "instance":
      return rng.pick(["DEVNAME", "X", "1X", "A-B"]);
    default:
      return rng.pick(VALUES);
  }
}

const HEADERS: Record<string, string[]> = {
  longrun: ["type = longrun", "command = /bin/true"],
  oneshot: ["type = oneshot", "up = /bin/true"],
  task: ["type = task", "command = /bin/true", "start-on = ev X=1"],
  bundle: ["type = bundle", "contents = web"],
};

/** `key = value` lines: often a valid service with a few generated settings, sometimes anything. */
export function keyValueFile(rng: Random): Buffer {
  const type = rng.pick(["longrun", "oneshot", "task", "bundle"]);
  const valid = rng.chance(0.6);
  const lines: string[] = valid ? [...HEADERS[type]!] : [];
  if (!valid && rng.chance(0.8)) lines.push(`type = ${rng.pick(["longrun", "oneshot", "task", "bundle", "longrn", ""])}`);
  const applicable = Object.keys(KEYS).filter((k) => KEYS[k]!.types.includes(type as never) && !lines.some((l) => l.startsWith(`${k} `)));
  const n = rng.int(valid ? 1 : 0, valid ? 4 : 12);
  for (let i = 0; i < n; i++) {
    const key = valid && rng.chance(0.85) ? rng.pick(applicable) : rng.pick(KEY_NAMES);
    let value = rng.chance(0.8) ? valueFor(rng, key) : rng.pick(VALUES);
    if (rng.chance(0.1)) value = `${value} ${rng.pick(VALUES)}`;
    if (rng.chance(0.05)) value = `${value} \\`; // continue onto whatever comes next
    lines.push(`${rng.chance(0.1) ? "  " : ""}${key}${rng.pick([" = ", "=", "\t=\t", " ="])}${value}`);
    if (rng.chance(0.05)) lines.push(rng.pick(["", "# comment", "   ", "\\"]));
  }
  const text = lines.join(rng.chance(0.2) ? "\r\n" : "\n") + (rng.chance(0.8) ? "\n" : "");
  return Buffer.from(text);
}

/** An example file, changed a little. */
export function mutate(rng: Random, original: Buffer): Buffer {
  let bytes = Buffer.from(original);
  const rounds = rng.int(1, 4);
  for (let r = 0; r < rounds; r++) {
    const kind = rng.int(0, 9);
    if (kind === 0 && bytes.length > 0) {
      // flip bits of a few bytes
      for (let i = rng.int(1, 4); i > 0; i--) bytes[rng.int(0, bytes.length - 1)]! ^= 1 << rng.int(0, 7);
    } else if (kind === 1 && bytes.length > 0) {
      bytes = bytes.subarray(0, rng.int(0, bytes.length - 1)); // truncate
    } else if (kind === 2 && bytes.length > 0) {
      // insert random bytes (NULs, invalid UTF-8, high bytes)
      const at = rng.int(0, bytes.length);
      const junk = rng.pick([Buffer.from([0]), Buffer.from([0xff, 0xfe]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), randomBytes(rng, rng.int(1, 8))]);
      bytes = Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]);
    } else {
      const lines = bytes.toString("latin1").split("\n");
      const i = rng.int(0, Math.max(0, lines.length - 1));
      if (kind === 3) lines.splice(i, 1); // delete a line
      else if (kind === 4) lines.splice(i, 0, lines[i] ?? ""); // duplicate a line
      else if (kind === 5) lines.splice(i, 0, rng.pick(EXAMPLE_LINES)); // a line from another example
      else if (kind === 6) lines.splice(i, 0, `${rng.pick(KEY_NAMES)} = ${rng.pick(VALUES)}`); // splice a key and value
      else if (kind === 7 && lines[i] !== undefined && lines[i]!.includes("=")) {
        lines[i] = `${lines[i]!.slice(0, lines[i]!.indexOf("=") + 1)} ${rng.pick(VALUES)}`; // replace a value
      } else if (kind === 8) lines[i] = `${lines[i] ?? ""} \\`; // make a line continue
      else lines.splice(i, 0, "x".repeat(rng.int(MAX_LINE_CHARS - 2, MAX_LINE_CHARS + 2))); // a line near the limit
      bytes = Buffer.from(lines.join("\n"), "latin1");
    }
  }
  return bytes;
}

export function fuzzCase(rng: Random, i: number): Buffer {
  // A few fixed extremes first, then a random mix.
  if (i === 0) return Buffer.alloc(0);
  if (i === 1) return Buffer.concat([Buffer.from("type = longrun\ncommand = /bin/true\ndescription = "), Buffer.alloc(2 * 1024 * 1024, "x"), Buffer.from("\n")]);
  if (i === 2) return Buffer.from(`type = longrun\ncommand = /bin/echo ${"y".repeat(3 * MAX_LINE_CHARS)}\n`);
  if (i === 3) return Buffer.alloc(4096, 0);
  if (i === 4) return Buffer.from([0xef, 0xbb, 0xbf]);
  if (i === 5) return Buffer.from("\\");
  if (i === 6) return Buffer.from("\n".repeat(10_000));
  if (i === 7) return Buffer.from("=\n".repeat(1000));
  const kind = rng.int(0, 9);
  if (kind === 0) return randomBytes(rng, rng.int(0, 2000));
  if (kind === 1) return textish(rng, rng.int(0, 3000));
  if (kind <= 4) return keyValueFile(rng);
  return mutate(rng, EXAMPLE_FILES[rng.pick(EXAMPLE_NAMES)]!);
}

// ---- properties --------------------------------------------------------------------

/**
 * Every diagnostic names the file, a line that exists (or 0), and a column within the
 * line or just past its end (or 0). With `lines`, the columns are checked against them.
 */
export function checkDiagnostics(
  list: readonly Diagnostic[],
  fileOk: (file: string) => boolean,
  maxLine: number,
  context: () => string,
  linesOf?: (file: string) => readonly string[] | undefined,
): void {
  for (const d of list) {
    const lines = linesOf?.(d.file);
    const bad = (why: string): never => assert.fail(`${context()}: ${why}: ${JSON.stringify(d)}`);
    if (d.severity !== "error" && d.severity !== "warning") bad("bad severity");
    if (typeof d.file !== "string" || !fileOk(d.file)) bad("bad file");
    if (!Number.isInteger(d.line) || d.line < 0 || d.line > maxLine) bad("bad line");
    if (!Number.isInteger(d.col) || d.col < 0) bad("bad column");
    if (d.col > 0 && d.line === 0) bad("a column without a line");
    if (lines !== undefined && d.line > lines.length) bad("line past the end of the file");
    if (lines !== undefined && d.line > 0 && d.col > lines[d.line - 1]!.replace(/\r$/, "").length + 1) bad(`column past the end of line ${JSON.stringify(lines[d.line - 1])}`);
    if (typeof d.message !== "string" || d.message.trim() === "") bad("empty message");
  }
}

/** JSON would turn Infinity and NaN into null and drop undefined: an accepted value must not hold them. */
function checkJsonSafe(value: unknown, context: () => string): void {
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "number" && !Number.isFinite(v)) assert.fail(`${context()}: a non-finite number in ${JSON.stringify(value)?.slice(0, 300)}`);
    return v;
  });
  assert.deepEqual(JSON.parse(text), plain(value), `${context()}: does not survive JSON`);
}

function checkGlobs(condition: Condition | null, context: () => string): void {
  if (condition === null) return;
  if (condition.kind === "and" || condition.kind === "or") return condition.of.forEach((c) => checkGlobs(c, context));
  const globs = condition.kind === "level" ? [condition.value] : Object.values(condition.match);
  for (const glob of globs) {
    try {
      globMatch(glob, "some value");
    } catch (e) {
      assert.fail(`${context()}: accepted pattern '${glob}' makes globMatch throw: ${(e as Error).message}`);
    }
  }
}

export function checkParsed(parsed: ParsedService | null, diagnostics: readonly Diagnostic[], context: () => string): void {
  if (parsed === null) {
    assert.ok(
      diagnostics.some((d) => d.severity === "error"),
      `${context()}: no service and no error`,
    );
    return;
  }
  checkJsonSafe(parsed.def, context);
  checkGlobs(parsed.def.startOn, context);
  checkGlobs(parsed.def.stopOn, context);
  if (parsed.def.schedule?.kind === "after") checkGlobs(parsed.def.schedule.event, context);
}

export function checkCompiled(result: CompileResult, context: () => string): void {
  assert.equal(result.accepted, !result.diagnostics.some((d) => d.severity === "error"), `${context()}: accepted disagrees with the errors`);
  if (result.compiled === null) {
    assert.equal(result.accepted, false, `${context()}: accepted without a compiled set`);
    return;
  }
  checkJsonSafe(result.compiled, context);
  const booted = result.compiled.boot.flat();
  assert.equal(new Set(booted).size, booted.length, `${context()}: a service is in two boot waves`);
  for (const name of booted) assert.ok(name in result.compiled.graph.services, `${context()}: boots '${name}', which is not a service`);
  const waveOf = new Map<string, number>();
  result.compiled.boot.forEach((wave, w) => wave.forEach((name) => waveOf.set(name, w)));
  for (const [name, wave] of waveOf) {
    for (const dep of result.compiled.graph.services[name]!.after) {
      if (waveOf.has(dep)) assert.ok(waveOf.get(dep)! < wave, `${context()}: '${name}' boots before '${dep}', which it is after`);
    }
  }
}

export const decodeLines = (bytes: Uint8Array): string[] => new TextDecoder().decode(bytes).split("\n");

/** The lines of a source file as it is on disk now; undefined for the directory itself. */
export function linesOnDisk(file: string): string[] | undefined {
  try {
    return decodeLines(readFileSync(file));
  } catch {
    return undefined;
  }
}

export const lineCount = (bytes: Uint8Array): number => bytes.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 1);


/** A random dependency graph of 1 to 12 services, all in `default`: valid files, any shape (cycles included). */
export function randomGraph(rng: Random): Record<string, string> {
  const n = rng.int(1, 12);
  const names = Array.from({ length: n }, (_, k) => `s${k}`);
  const files: Record<string, string> = {};
  for (const name of names) {
    const type = rng.pick(["longrun", "longrun", "oneshot", "task", "bundle"]);
    const refs = (p: number): string => names.filter(() => rng.chance(p)).join(" ");
    const lines = [`type = ${type}`];
    if (type === "bundle") lines.push(`contents = ${refs(0.3) || names[0]}`);
    else {
      lines.push(type === "oneshot" ? "up = /bin/true" : "command = /bin/true");
      for (const key of ["requires", "wants", "after", "before"]) {
        const r = refs(0.12);
        if (r) lines.push(`${key} = ${r}`);
      }
    }
    files[name] = `${lines.join("\n")}\n`;
  }
  files.default = `type = bundle\ncontents = ${names.join(" ")}\n`;
  return files;
}

// ---- whole sets, in memory ------------------------------------------------------------

/** Where the sets made in memory say they are: no such directory is read or written. */
const SET_DIR = "/fuzz/set";
/** Names a set may add beside the example names (all valid service names: the directory's naming rules are tested on disk). */
const NEW_NAMES = ["new", "x.y-z", "9", "constructor", "__proto__", "toString", "hasOwnProperty"];

/** One set: the examples with one to three files broken, added or removed, or a random graph, sometimes broken too. */
export function setCase(rng: Random): { files: Map<string, Buffer>; hostChecks: boolean } {
  const files = new Map<string, Buffer>();
  const graph = rng.chance(0.3);
  if (graph) for (const [name, text] of Object.entries(randomGraph(rng))) files.set(name, Buffer.from(text));
  else for (const name of EXAMPLE_NAMES) files.set(name, EXAMPLE_FILES[name]!);
  const names = [...files.keys()];
  for (let n = graph ? rng.int(0, 2) : rng.int(1, 3); n > 0; n--) {
    const roll = rng.int(0, 9);
    const name = roll === 0 ? rng.pick(NEW_NAMES) : rng.pick(names);
    if (roll === 9) files.delete(name);
    else files.set(name, roll === 1 ? fuzzCase(rng, rng.int(0, 8)) : roll <= 3 ? keyValueFile(rng) : mutate(rng, files.get(name) ?? EXAMPLE_FILES.web!));
  }
  return { files, hostChecks: rng.chance(0.1) };
}

/**
 * Makes case `index` of `seed` and compiles it in memory; throws (an AssertionError for
 * a broken property) with the seed and index in the message when something is wrong.
 */
export function runSetCase(seed: number, index: number): { accepted: boolean } {
  const { files, hostChecks } = setCase(caseRandom(seed, index));
  const source: Source = {
    dir: SET_DIR,
    files: [...files.keys()].sort().map((name) => ({ name, file: join(SET_DIR, name), bytes: files.get(name)! })),
    skipped: [],
    unread: [],
  };
  const context = (): string => `seed ${seed}, set ${index} (replay: npm run fuzz -- --only sets --seed ${seed} --start ${index} --count 1)`;
  let result: CompileResult;
  try {
    result = compileSource(source, [], { hostChecks });
  } catch (e) {
    assert.fail(`${context()}: compileSource threw ${(e as Error).stack}`);
  }
  const linesOf = (file: string): string[] | undefined => {
    const bytes = files.get(file.slice(SET_DIR.length + 1));
    return file.startsWith(`${SET_DIR}/`) && bytes !== undefined ? decodeLines(bytes) : undefined;
  };
  checkDiagnostics(result.diagnostics, (f) => f === SET_DIR || f.startsWith(`${SET_DIR}/`), Number.MAX_SAFE_INTEGER, context, linesOf);
  checkCompiled(result, context);
  return { accepted: result.accepted };
}
