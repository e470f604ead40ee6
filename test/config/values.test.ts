// The value parsers on their own: what they accept, what they return, and the offset
// each error points at.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { globMatch, parseCondition } from "../../src/config/condition.js";
import { closest, formatDiagnostic } from "../../src/config/diagnostics.js";
import { parseSchedule } from "../../src/config/schedule.js";
import {
  parseDuration,
  parseEnvAssignment,
  parseExitStatus,
  parseResourceLimit,
  parseRestartLimit,
  parseSignal,
  parseSize,
  parseUmask,
} from "../../src/config/values.js";
import { plain } from "../helpers.js";

describe("durations", () => {
  const GOOD: [string, number][] = [
    ["0", 0],
    ["500ms", 500],
    ["10s", 10_000],
    ["1.5s", 1500],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["2d", 172_800_000],
    ["1m30s250ms", 90_250],
    ["36500d", 36_500 * 86_400_000], // 100 years, the longest
  ];
  for (const [text, ms] of GOOD) test(`'${text}' is ${ms} ms`, () => assert.deepEqual(parseDuration(text), { ok: true, value: ms }));

  test("infinity only where allowed", () => {
    assert.deepEqual(parseDuration("infinity", true), { ok: true, value: null });
    assert.equal(parseDuration("infinity").ok, false);
  });

  const BAD: [string, number | undefined][] = [
    ["", undefined],
    ["10", 0],
    ["s", 0],
    ["1h 30m", 2],
    ["1hx", 2],
    ["1H", 0],
    ["-5s", 0],
    [`${"9".repeat(400)}d`, 0],
    ["36501d", 0],
    ["36500d1ms", 0],
    ["876001h", 0],
  ];
  for (const [text, offset] of BAD) {
    test(`'${text.slice(0, 20)}' is not a duration, error at ${offset}`, () => {
      const r = parseDuration(text);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.offset, offset);
    });
  }
});

test("sizes", () => {
  assert.deepEqual(parseSize("4096"), { ok: true, value: 4096 });
  assert.deepEqual(parseSize("512K"), { ok: true, value: 512 * 1024 });
  assert.deepEqual(parseSize("10M"), { ok: true, value: 10 * 1024 ** 2 });
  assert.deepEqual(parseSize("1GiB"), { ok: true, value: 1024 ** 3 });
  assert.deepEqual(parseSize("2 tb"), { ok: true, value: 2 * 1024 ** 4 });
  for (const bad of ["", "M", "1.5M", "-1", "10X", "10MM", "99999999999999999999"]) {
    assert.equal(parseSize(bad).ok, false, bad);
  }
});

test("signals", () => {
  assert.deepEqual(parseSignal("hup"), { ok: true, value: "SIGHUP" });
  assert.deepEqual(parseSignal("9"), { ok: true, value: "SIGKILL" });
  assert.deepEqual(parseSignal("SIGUSR1"), { ok: true, value: "SIGUSR1" });
  const bad = parseSignal("USR3");
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.message, /did you mean 'USR[12]'/);
  for (const text of ["0", "65", "SIG", "", "toString", "constructor"]) assert.equal(parseSignal(text).ok, false, text);
});

test("exit statuses", () => {
  assert.deepEqual(parseExitStatus("0"), { ok: true, value: 0 });
  assert.deepEqual(parseExitStatus("255"), { ok: true, value: 255 });
  assert.deepEqual(parseExitStatus("TERM"), { ok: true, value: "SIGTERM" });
  assert.equal(parseExitStatus("256").ok, false);
});

test("umask", () => {
  assert.deepEqual(parseUmask("022"), { ok: true, value: 0o22 });
  assert.deepEqual(parseUmask("0777"), { ok: true, value: 0o777 });
  for (const bad of ["22", "0888", "00022", "abc", ""]) assert.equal(parseUmask(bad).ok, false, bad);
});

test("restart limits", () => {
  assert.deepEqual(parseRestartLimit("5 in 30s"), { ok: true, value: { count: 5, windowMs: 30_000 } });
  assert.deepEqual(parseRestartLimit("none"), { ok: true, value: null });
  // The offset of a bad window is where the window is, even when its text occurs earlier.
  assert.deepEqual(parseRestartLimit("5 in 5"), { ok: false, message: (parseDuration("5") as { message: string }).message, offset: 5 });
  assert.deepEqual(parseRestartLimit("10 in 0"), { ok: false, message: "the window of a restart limit must be longer than 0", offset: 6 });
  assert.equal(parseRestartLimit("0 in 5s").ok, false);
  assert.equal(parseRestartLimit("5in5s").ok, false);
});

test("resource limits", () => {
  assert.deepEqual(parseResourceLimit("1024", false), { ok: true, value: { soft: 1024, hard: 1024 } });
  assert.deepEqual(parseResourceLimit("10:20", false), { ok: true, value: { soft: 10, hard: 20 } });
  assert.deepEqual(parseResourceLimit("unlimited", false), { ok: true, value: { soft: null, hard: null } });
  assert.deepEqual(parseResourceLimit("10:infinity", false), { ok: true, value: { soft: 10, hard: null } });
  assert.deepEqual(parseResourceLimit("1M:2M", true), { ok: true, value: { soft: 1024 ** 2, hard: 2 * 1024 ** 2 } });
  assert.equal(parseResourceLimit("1M", false).ok, false);
  assert.equal(parseResourceLimit("20:10", false).ok, false);
  assert.equal(parseResourceLimit("unlimited:10", false).ok, false);
  assert.equal(parseResourceLimit("1:2:3", false).ok, false);
  assert.equal(parseResourceLimit("", false).ok, false);
});

test("env assignments", () => {
  assert.deepEqual(parseEnvAssignment("A=1"), { ok: true, value: ["A", "1"] });
  assert.deepEqual(parseEnvAssignment("_x=a=b"), { ok: true, value: ["_x", "a=b"] });
  assert.deepEqual(parseEnvAssignment("A="), { ok: true, value: ["A", ""] });
  for (const bad of ["A", "=1", "1A=x", "A-B=1", "A B=1"]) assert.equal(parseEnvAssignment(bad).ok, false, bad);
});

describe("conditions", () => {
  test("and binds tighter than or", () => {
    const r = parseCondition("a or b and c");
    assert.ok(r.ok);
    assert.deepEqual(plain(r.value.condition), {
      kind: "or",
      of: [
        { kind: "event", name: "a", match: {} },
        {
          kind: "and",
          of: [
            { kind: "event", name: "b", match: {} },
            { kind: "event", name: "c", match: {} },
          ],
        },
      ],
    });
  });

  test("parentheses group, and need no blanks around them", () => {
    const r = parseCondition("(a or b)and(c)");
    assert.ok(r.ok);
    assert.equal(r.value.condition.kind, "and");
  });

  test("job events name services, with their offsets", () => {
    const r = parseCondition("stopping db or (started web RESULT=ok and x)");
    assert.ok(r.ok);
    assert.deepEqual(r.value.references, [
      { service: "db", offset: 9 },
      { service: "web", offset: 24 },
    ]);
  });

  test("quoted match values keep their blanks", () => {
    const r = parseCondition(`ev NAME='a b' OTHER="c d"`);
    assert.ok(r.ok);
    assert.deepEqual(plain(r.value.condition), { kind: "event", name: "ev", match: { NAME: "a b", OTHER: "c d" } });
  });

  test("levels", () => {
    const r = parseCondition("net.eth0=up");
    assert.ok(r.ok);
    assert.deepEqual(plain(r.value.condition), { kind: "level", name: "net.eth0", value: "up" });
  });

  const BAD: [string, number, string][] = [
    ["", 0, "a condition is needed"],
    ["(a", 0, "expected ')'"],
    ["a)", 1, "unexpected ')'"],
    ["a and", 5, "ends too early"],
    ["a or or b", 5, "unexpected 'or'"],
    ["started", 0, "must be followed by a service name"],
    ["started (x)", 8, "must be followed by a service name"],
    ["started a/b", 8, "not a valid service name"],
    ["ev 'x", 3, "unterminated quote"],
    ["ev X=[a", 5, "unclosed '['"],
    ["ev X=[b-a]", 5, "not a valid pattern"],
    ["a b", 2, "join conditions"],
  ];
  for (const [text, offset, part] of BAD) {
    test(`'${text}': ${part} at ${offset}`, () => {
      const r = parseCondition(text);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.ok(r.message.includes(part), r.message);
        assert.equal(r.offset ?? 0, offset);
      }
    });
  }
});

test("globMatch matches as a shell would", () => {
  assert.ok(globMatch("/dev/sd*", "/dev/sdb1"));
  assert.ok(!globMatch("/dev/sd*", "/dev/hda"));
  assert.ok(globMatch("eth?", "eth0"));
  assert.ok(!globMatch("eth?", "eth10"));
  assert.ok(globMatch("[ab]x", "bx"));
  assert.ok(globMatch("[!ab]x", "cx"));
  assert.ok(!globMatch("[!ab]x", "ax"));
  assert.ok(globMatch("a.b", "a.b"));
  assert.ok(!globMatch("a.b", "axb"));
  assert.ok(globMatch("(x)+$", "(x)+$"));
});

test("schedules", () => {
  assert.deepEqual(parseSchedule("every 1h"), { ok: true, value: { schedule: { kind: "every", intervalMs: 3_600_000 }, references: [] } });
  assert.equal(parseSchedule("0 3 * * *").ok, true);
  assert.equal(parseSchedule("*/5 * * * * *").ok, true);
  assert.equal(parseSchedule("@daily").ok, true);
  const after = parseSchedule("10m after stopping db");
  assert.ok(after.ok);
  assert.deepEqual(after.value.references, [{ service: "db", offset: 19 }]);
  const cron = parseSchedule("0 25 * * *");
  assert.ok(!cron.ok);
  assert.ok(!cron.message.includes(".."), cron.message);
  assert.deepEqual(parseSchedule("every  soon"), { ok: false, message: (parseDuration("soon") as { message: string }).message, offset: 7 });
  assert.deepEqual(parseSchedule("every  1ms"), { ok: false, message: "an interval must be at least 1s", offset: 7 });
});

test("closest guesses only plausible typos", () => {
  assert.equal(closest("restrat", ["restart", "ready"]), "restart");
  assert.equal(closest("x", ["y"]), "y"); // one typo is allowed even in a one-letter word
  assert.equal(closest("completely", ["restart", "ready"]), undefined);
  assert.equal(closest("READY", ["ready"]), "ready");
});

test("formatDiagnostic omits the zero parts", () => {
  assert.equal(formatDiagnostic({ severity: "error", file: "f", line: 0, col: 0, message: "m" }), "f: error: m");
  assert.equal(formatDiagnostic({ severity: "warning", file: "f", line: 3, col: 0, message: "m" }), "f:3: warning: m");
  assert.equal(formatDiagnostic({ severity: "error", file: "f", line: 3, col: 7, message: "m" }), "f:3:7: error: m");
});
