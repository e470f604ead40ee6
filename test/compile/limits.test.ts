// The compiler's limits (docs/service-files.md, "Limits"): no input drives recursion
// deeper than a documented bound, and every check is linear or n log n in the size of
// the input. Each case is a large input that once overflowed the stack or took minutes;
// the timeouts are generous for a busy machine, so that a regression fails instead of
// hanging.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MAX_CONDITION_DEPTH } from "../../src/config/condition.js";
import { MAX_CYCLES } from "../../src/compile/cycles.js";
import { MAX_EXPANDED_NAMES } from "../../src/compile/graph.js";
import { assertOneError, compileFiles, errorsOf, parse, show, where } from "../helpers.js";

const LONGRUN = "type = longrun\ncommand = /bin/true\n";
const TIMEOUT = { timeout: 120_000 };

describe("nesting", () => {
  test(`parentheses nested ${MAX_CONDITION_DEPTH} deep are accepted`, () => {
    const deep = `${"(".repeat(MAX_CONDITION_DEPTH)}foo and bar${")".repeat(MAX_CONDITION_DEPTH)}`;
    const { parsed, diagnostics } = parse(`${LONGRUN}start-on = ${deep}\n`);
    assert.deepEqual(diagnostics, [], show(diagnostics));
    assert.equal(parsed!.def.startOn?.kind, "and");
  });

  test("parentheses nested 3,000 deep: one error at the line and column of the first '(' too deep", TIMEOUT, () => {
    const text = `${LONGRUN}start-on = ${"(".repeat(3000)}foo${")".repeat(3000)}\n`;
    const { errors } = parse(text);
    // `start-on = ` fills columns 1-11 of line 3; the first '(' too deep is number 65.
    assertOneError(errors, `/etc/tend/svc:3:${11 + MAX_CONDITION_DEPTH + 1}`, `nest more than ${MAX_CONDITION_DEPTH} deep`);
  });

  test("a deep condition inside a stop-on and a schedule's event is refused the same way", TIMEOUT, () => {
    const deep = `${"(".repeat(3000)}foo${")".repeat(3000)}`;
    const stop = parse(`${LONGRUN}stop-on = ${deep}\n`);
    assert.equal(stop.errors.length, 1, show(stop.diagnostics));
    assert.ok(stop.errors[0]!.message.includes("nest more than"), show(stop.diagnostics));
    const schedule = parse(`type = task\ncommand = /bin/true\nschedule = 5s after ${deep}\n`);
    // `schedule = 5s after ` fills columns 1-20 of line 3.
    assertOneError(schedule.diagnostics, `/etc/tend/svc:3:${20 + MAX_CONDITION_DEPTH + 1}`, "nest more than");
  });
});

describe("work linear in the input", () => {
  // Today well under a second; it took 40 s when each name searched the list before it.
  test("10^5 unknown names in one requires, continued over 10^4 lines: each one error at its place", { timeout: 20_000 }, () => {
    const names = Array.from({ length: 100_000 }, (_, i) => `u${i}`);
    const lines: string[] = [];
    for (let i = 0; i < names.length; i += 10) lines.push(names.slice(i, i + 10).join(" "));
    const r = compileFiles({ web: `${LONGRUN}requires = ${lines.join(" \\\n")}\n`, u: LONGRUN });
    const errors = errorsOf(r.diagnostics);
    assert.equal(errors.length, 100_000);
    assert.equal(where(errors[0]!), `${r.dir}/web:3:12`);
    // u99999 is the last name of the last line, the 10^4th (line 10,002 of the file).
    const last = errors.find((d) => d.message.includes("'u99999'"))!;
    assert.equal(where(last).startsWith(`${r.dir}/web:10002:`), true, where(last));
    // Did-you-mean still works where it can be afforded: 'u1' is one edit from 'u'.
    assert.ok(errors.find((d) => d.message.includes("'u1',"))?.message.includes("did you mean 'u'"), show(errors.slice(0, 3)));
  });

  test("10^5 services in a chain of requirements compile, and boot in 10^5 waves", TIMEOUT, () => {
    const files: Record<string, string> = { default: "type = bundle\ncontents = s99999\n" };
    for (let i = 0; i < 100_000; i++) files[`s${i}`] = i === 0 ? LONGRUN : `${LONGRUN}requires = s${i - 1}\n`;
    const r = compileFiles(files);
    assert.equal(r.accepted, true, show(r.diagnostics.slice(0, 5)));
    assert.equal(r.compiled!.boot.length, 100_000);
    assert.deepEqual(r.compiled!.boot[0], ["s0"]);
  });

  test("a file of 10^4 lines compiles", TIMEOUT, () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? `env = V${i}=${i}` : `after = u${i}`));
    const r = compileFiles({ web: `${LONGRUN}${lines.join("\n")}\n`, default: "type = bundle\ncontents = web\n" });
    assert.equal(r.accepted, true, show(r.diagnostics.slice(0, 5)));
    assert.equal(r.diagnostics.length, 5_000); // each unknown 'after' is a warning
    assert.equal(Object.keys(r.compiled!.services.web!.env).length, 5_000);
  });

  test(`10^4 services that each close a cycle: the first ${MAX_CYCLES} are reported, quickly`, TIMEOUT, () => {
    // sNNNNN requires the next one and s00000: each back edge closes a cycle as long as the path.
    const n = 10_000;
    const name = (i: number): string => `s${String(i).padStart(5, "0")}`;
    const files: Record<string, string> = {};
    for (let i = 0; i < n; i++) files[name(i)] = `${LONGRUN}requires = ${i + 1 < n ? name(i + 1) : ""} ${i > 0 ? name(0) : ""}\n`;
    const r = compileFiles(files);
    const cycles = errorsOf(r.diagnostics).filter((d) => d.message.startsWith("dependency cycle"));
    assert.equal(cycles.length, MAX_CYCLES, show(r.diagnostics.slice(0, 3)));
  });

  test(`bundles nested 10^4 deep expand to more than ${MAX_EXPANDED_NAMES} names: one error, not gigabytes`, TIMEOUT, () => {
    const n = 10_000;
    const files: Record<string, string> = { default: "type = bundle\ncontents = b0\n" };
    for (let i = 0; i < n; i++) {
      files[`b${i}`] = `type = bundle\ncontents = s${i}${i + 1 < n ? ` b${i + 1}` : ""}\n`;
      files[`s${i}`] = LONGRUN;
    }
    const r = compileFiles(files);
    const errors = errorsOf(r.diagnostics);
    assert.equal(errors.length, 1, show(r.diagnostics.slice(0, 3)));
    assert.ok(errors[0]!.message.includes(`bundles expand to more than ${MAX_EXPANDED_NAMES} names`), show(errors));
    assert.match(where(errors[0]!), /\/b\d+:2:12$/);
  });
});
