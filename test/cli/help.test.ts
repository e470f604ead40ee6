// The table of commands (src/cli/commands.ts) and what is drawn from it: `tend help`,
// each command's help, usage errors in tend's own words, and docs/cli.md covering it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { arity, COMMANDS, GLOBAL_OPTIONS, OPERANDS, OPTIONS, option, type CommandSpec, type OptionName } from "../../src/cli/commands.js";
import { parseOptions } from "../../src/cli/options.js";
import { REPO, runTend } from "../helpers.js";

const ALL = Object.entries(COMMANDS as Record<string, CommandSpec>);
const VISIBLE = ALL.filter(([, c]) => c.hidden !== true);

describe("the table of commands", () => {
  test("every operand and option value is a word of OPERANDS or a list of choices", () => {
    for (const [name, c] of ALL) {
      for (const word of c.operands.split(" ").filter(Boolean)) {
        const bare = word.replace(/^\[/, "").replace(/\]$/, "").replace("…", "");
        assert.ok(Object.hasOwn(OPERANDS, bare), `${name}: operand ${word}`);
      }
    }
    for (const name of Object.keys(OPTIONS) as OptionName[]) {
      const o = option(name);
      if (o.value !== undefined) assert.ok(Object.hasOwn(OPERANDS, o.value) || /^[a-z]+(\|[a-z]+)+$/.test(o.value), `--${name} ${o.value}`);
    }
  });

  test("how many operands each command takes is read off its usage", () => {
    assert.deepEqual(pick(arity(COMMANDS.check)), [0, 1]);
    assert.deepEqual(pick(arity(COMMANDS.start)), [1, Infinity]);
    assert.deepEqual(pick(arity(COMMANDS.status)), [0, Infinity]);
    assert.deepEqual(pick(arity(COMMANDS.signal)), [2, 2]);
    assert.deepEqual(pick(arity(COMMANDS.emit)), [1, Infinity]);
    assert.deepEqual(pick(arity(COMMANDS.list)), [0, 0]);
  });

  test("every option is some command's, short forms are unique, summaries fit beside the usage", () => {
    const taken = new Set<string>([...GLOBAL_OPTIONS, ...ALL.flatMap(([, c]) => c.options)]);
    assert.deepEqual(Object.keys(OPTIONS).filter((o) => !taken.has(o)), []);
    const shorts = (Object.keys(OPTIONS) as OptionName[]).flatMap((n) => option(n).short ?? []);
    assert.equal(new Set(shorts).size, shorts.length);
    for (const [name, c] of VISIBLE) {
      assert.ok(c.summary.length <= 50, `${name}: summary of ${c.summary.length} characters`);
      assert.ok(c.help.length > c.summary.length, `${name}: no help paragraph`);
      for (const o of c.options) assert.ok(!GLOBAL_OPTIONS.includes(o), `${name} lists the global --${o}`);
    }
  });
});

const pick = ({ min, max }: { min: number; max: number }): [number, number] => [min, max];

describe("reading the command line", () => {
  const parse = (...words: string[]) => parseOptions<Record<string, unknown>>(words, OPTIONS);

  test("options anywhere before --, long and short, with values joined or apart, flags grouped", () => {
    const r = parse("--root", "/r", "logs", "-fn5", "web", "--json", "--", "-n", "x");
    assert.ok(r.ok);
    assert.deepEqual({ ...r.values }, { root: "/r", follow: true, lines: "5", json: true });
    assert.deepEqual(r.operands, ["logs", "web", "-n", "x"]);
    assert.deepEqual(r.given, ["root", "follow", "lines", "json"]);
    const joined = parse("--lines=7", "-n", "8", "--wait=", "-");
    assert.ok(joined.ok);
    assert.deepEqual({ ...joined.values }, { lines: "8", wait: "" });
    assert.deepEqual(joined.operands, ["-"]);
  });

  test("an option whose value is optional takes one after '=' only: alone it has its default", () => {
    const alone = parse("boot", "--syslog", "x");
    assert.ok(alone.ok);
    assert.deepEqual({ ...alone.values }, { syslog: "on" });
    assert.deepEqual(alone.operands, ["boot", "x"]);
    const given = parse("boot", "--syslog=/run/log");
    assert.ok(given.ok);
    assert.deepEqual({ ...given.values }, { syslog: "/run/log" });
  });

  test("what is wrong comes back as a value, with the option as typed", () => {
    assert.deepEqual(parse("--folow"), { ok: false, problem: "unknown", option: "--folow" });
    assert.deepEqual(parse("--folow=1"), { ok: false, problem: "unknown", option: "--folow" });
    assert.deepEqual(parse("-fx"), { ok: false, problem: "unknown", option: "-x" });
    assert.deepEqual(parse("logs", "-n"), { ok: false, problem: "missing-value", option: "-n" });
    assert.deepEqual(parse("--wait"), { ok: false, problem: "missing-value", option: "--wait" });
    assert.deepEqual(parse("--json=yes"), { ok: false, problem: "no-value", option: "--json" });
    assert.deepEqual(parse("--constructor"), { ok: false, problem: "unknown", option: "--constructor" });
  });
});

describe("tend help", () => {
  test("the usage lists every command by group, on stdout, exit 0", () => {
    for (const args of [["help"], ["--help"], ["-h"]]) {
      const r = runTend(args);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, /^usage: tend \[--root DIR\] \[--json\] COMMAND \[ARGS\]\n/);
      for (const [name] of VISIBLE) assert.match(r.stdout, new RegExp(`^  ${name}( |$)`, "m"), name);
      for (const title of ["configuration:", "the server:", "services:", "events:"]) assert.ok(r.stdout.includes(`\n${title}\n`), title);
      for (const line of r.stdout.trimEnd().split("\n")) assert.ok(line.length <= 80, `too wide: ${line}`);
    }
  });

  test("each command's help: its usage, its description, each of its options", () => {
    for (const [name, c] of VISIBLE) {
      const r = runTend(["help", name]);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith(`usage: tend ${name}`), r.stdout);
      assert.ok(r.stdout.includes(c.help.split(" ").slice(0, 3).join(" ")), r.stdout);
      for (const o of c.options) assert.ok(r.stdout.includes(`--${o}`), `${name} --${o}`);
      assert.deepEqual(runTend([name, "--help"]).stdout, r.stdout);
    }
    const short = runTend(["start", "-h"]);
    assert.equal(short.status, 0);
    assert.equal(short.stdout, runTend(["help", "start"]).stdout);
  });

  test("help for no such command is a usage error with a guess", () => {
    const r = runTend(["help", "stpo"]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "tend: unknown command 'stpo' (did you mean 'stop'?)\nusage: tend help [COMMAND]  (tend help help)\n");
  });
});

describe("usage errors", () => {
  // Each: the command line, and the first line of what tend says; the second is the usage.
  const CASES: [string[], string, string][] = [
    [["strat", "web"], "unknown command 'strat' (did you mean 'start'?)", "usage: tend [--root DIR] [--json] COMMAND [ARGS]  (tend help: the commands)"],
    [["frobnicate"], "unknown command 'frobnicate'", "usage: tend [--root DIR] [--json] COMMAND [ARGS]  (tend help: the commands)"],
    [["cat"], "'cat' needs a service name", "usage: tend cat NAME  (tend help cat)"],
    [["logs", "web", "--folow"], "unknown option '--folow' (did you mean '--follow'?)", "usage: tend logs [NAME…] [OPTIONS]  (tend help logs)"],
    [["logs", "web", "-n"], "-n needs a number", "usage: tend logs [NAME…] [OPTIONS]  (tend help logs)"],
    [["logs", "web", "-n", "x"], "-n takes a number of lines, not 'x'", "usage: tend logs [NAME…] [OPTIONS]  (tend help logs)"],
    [["logs", "-x", "web"], "unknown option '-x'", "usage: tend logs [NAME…] [OPTIONS]  (tend help logs)"],
    [["logs", "--since", "soon"], "--since: 'soon' is not a time: use '2026-12-02 10:00', '10:00', '10 min ago', '1h ago', 'today' or 'now'", "usage: tend logs [NAME…] [OPTIONS]  (tend help logs)"],
    [["status", "--state", "asleep"], "--state: 'asleep' is not a state: use down, starting, up, running, stopping, failed (several with commas)", "usage: tend status [NAME…] [--failed] [--state STATE] [-q]  (tend help status)"],
    [["is-active"], "'is-active' needs a service name", "usage: tend is-active NAME… [-q]  (tend help is-active)"],
    [["start", "--lines", "5", "web"], "'start' does not take --lines", "usage: tend start NAME… [--no-wait] [--dry-run]  (tend help start)"],
    [["--follow", "status"], "'status' does not take --follow", "usage: tend status [NAME…] [--failed] [--state STATE] [-q]  (tend help status)"],
    [["signal", "web"], "'signal' needs a signal", "usage: tend signal NAME SIGNAL [--main]  (tend help signal)"],
    [["set"], "'set' needs a level name and a value", "usage: tend set LEVEL VALUE [--persist] [--no-persist]  (tend help set)"],
    [["why", "a", "b"], "'why' takes 1 argument", "usage: tend why NAME  (tend help why)"],
    [["list", "x"], "'list' takes no arguments", "usage: tend list  (tend help list)"],
    [["ready", "--wait"], "--wait needs a duration", "usage: tend ready [NAME…] [--wait DURATION]  (tend help ready)"],
    [["boot", "--log-format"], "--log-format needs one of text, json", "usage: tend boot [OPTIONS]  (tend help boot)"],
    [["--json=yes", "list"], "--json takes no value", "usage: tend list  (tend help list)"],
    [["ready", "--wait", "soon"], "--wait: 'soon' is not a duration: use a number with a unit ms, s, m, h or d, like 500ms, 10s, 1m30s", "usage: tend ready [NAME…] [--wait DURATION]  (tend help ready)"],
    [["events", "-n", "0"], "-n takes a number of entries from 1, not '0'", "usage: tend events [-n N]  (tend help events)"],
  ];

  test("two lines on stderr: what is wrong, and the command's usage; exit 2, nothing on stdout", () => {
    for (const [args, first, second] of CASES) {
      const r = runTend(args, { env: { TEND_ROOT: "/nonexistent/tend-root" } });
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines[0], `tend: ${first}`, args.join(" "));
      assert.equal(lines[1], second, args.join(" "));
      assert.equal(lines.length, 2, r.stderr);
    }
  });

  test("no wording of Node's option parser, and no stack, whatever the words", () => {
    const odd = [["--"], ["-"], ["--=x"], ["---x"], ["-n"], ["logs", "--lines="], ["--root"], ["help", "--", "--help"], ["__proto__"], ["start", "--toString"], ["-h", "constructor"]];
    for (const args of odd) {
      const r = runTend(args, { env: { TEND_ROOT: "/nonexistent/tend-root" } });
      assert.ok(r.status === 2 || r.status === 0, `${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /ERR_|To specify a positional|argument missing|Unknown option|at .*\.js:\d+|internal error/, args.join(" "));
    }
  });

  test("tend alone: a command is needed, and the whole usage, on stderr", () => {
    const r = runTend([]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^tend: a command is needed\nusage: tend /);
  });
});

describe("docs/cli.md", () => {
  const text = readFileSync(join(REPO, "docs/cli.md"), "utf8");
  const section = (name: string): string => {
    const start = text.indexOf(`\n## \`tend ${name}\`\n`);
    assert.ok(start >= 0, `docs/cli.md has no section '## \`tend ${name}\`'`);
    const end = text.indexOf("\n## ", start + 1);
    return text.slice(start, end < 0 ? undefined : end);
  };

  test("has a section for every command, naming each of its options", () => {
    for (const [name, c] of VISIBLE) {
      const s = section(name);
      for (const o of c.options) assert.ok(s.includes(`--${o}`), `docs/cli.md, tend ${name}: --${o} is not mentioned`);
    }
  });
});
