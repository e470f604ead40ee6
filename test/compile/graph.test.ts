// Errors between files: unknown names, cycles of every kind, bundles, and what the
// compiler does with a source directory as a whole.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../src/compile/compile.js";
import { MAX_FILE_BYTES } from "../../src/config/lexer.js";
import { EXAMPLES, assertHas, assertOneError, compileFiles, errorsOf, show, withTemp, writeSource } from "../helpers.js";

/** A longrun whose own lines start at line 3. */
const longrun = (...lines: string[]): string => ["type = longrun", "command = /bin/true", ...lines, ""].join("\n");
const task = (...lines: string[]): string => ["type = task", "command = /bin/true", ...lines, ""].join("\n");
const bundle = (contents: string): string => `type = bundle\ncontents = ${contents}\n`;

describe("unknown names", () => {
  test("an unknown dependency, with a guess", () => {
    const r = compileFiles({ db: longrun(), web: longrun("requires = dbb") });
    assert.equal(r.accepted, false);
    assertOneError(r.diagnostics, `${r.dir}/web:3:12`, "'requires' names 'dbb', which has no service file", "(did you mean 'db'?)");
  });

  test("an unknown name in wants and in contents", () => {
    const r = compileFiles({ web: longrun("wants = cache"), default: bundle("web nosuch") });
    const errors = errorsOf(r.diagnostics);
    assert.equal(errors.length, 2, show(r.diagnostics));
    assertHas(r.diagnostics, "error", `${r.dir}/default:2:16`, "'contents' names 'nosuch', which has no service file");
    assertHas(r.diagnostics, "error", `${r.dir}/web:3:9`, "'wants' names 'cache'");
  });

  test("an unknown name in after or before is only a warning", () => {
    const r = compileFiles({ web: longrun("after = clock", "before = clients"), default: bundle("web") });
    assert.equal(r.accepted, true, show(r.diagnostics));
    assertHas(r.diagnostics, "warning", `${r.dir}/web:3:9`, "'after' names 'clock'", "the ordering is ignored");
    assertHas(r.diagnostics, "warning", `${r.dir}/web:4:10`, "'before' names 'clients'");
  });

  test("an unknown service in a condition", () => {
    const r = compileFiles({ db: longrun(), web: longrun("start-on = started nosuch or stopping dbb") });
    const errors = errorsOf(r.diagnostics);
    assert.equal(errors.length, 2, show(r.diagnostics));
    assertHas(r.diagnostics, "error", `${r.dir}/web:3:20`, "the condition names 'nosuch', which has no service file");
    assertHas(r.diagnostics, "error", `${r.dir}/web:3:39`, "the condition names 'dbb'", "(did you mean 'db'?)");
  });

  test("an unknown service in a delayed schedule", () => {
    const r = compileFiles({ report: task("schedule = 5m after started nosuch") });
    assertOneError(r.diagnostics, `${r.dir}/report:3:29`, "the condition names 'nosuch'");
  });

  test("a reference on a continued line is located on that line", () => {
    const r = compileFiles({ db: longrun(), web: longrun("requires = db \\", "   dbb") });
    assertOneError(r.diagnostics, `${r.dir}/web:4:4`, "'requires' names 'dbb'");
  });
});

describe("references to files that failed", () => {
  test("a file without a type is reported once; naming it is no second error", () => {
    const r = compileFiles({
      broken: "command = /bin/true\n",
      web: longrun("requires = broken", "start-on = started broken"),
      default: bundle("web broken"),
    });
    assertOneError(r.diagnostics, `${r.dir}/broken`, "missing 'type'");
  });

  test("a file with a bad type is reported once", () => {
    const r = compileFiles({ broken: "type = servce\ncommand = /bin/true\n", web: longrun("after = broken", "wants = broken") });
    assertOneError(r.diagnostics, `${r.dir}/broken:1:8`, "'servce' is not a service type");
  });

  test("a file that is not text is reported once", () => {
    const r = compileFiles({ broken: Buffer.from([0, 1, 2]), web: longrun("requires = broken") });
    assertOneError(r.diagnostics, `${r.dir}/broken`, "NUL byte");
  });

  test("a file too large to read is reported once", () => {
    const r = compileFiles({ huge: `type = longrun\n#${"x".repeat(MAX_FILE_BYTES)}\n`, web: longrun("requires = huge") });
    assertOneError(r.diagnostics, `${r.dir}/huge`, `a service file may be at most ${MAX_FILE_BYTES} bytes`);
  });

  test("a dangling symbolic link is reported once", () => {
    withTemp((dir) => {
      writeSource(dir, { web: longrun("requires = db") });
      symlinkSync(join(dir, "nowhere"), join(dir, "db"));
      const r = compile({ sourceDir: dir, hostChecks: false });
      assertOneError(r.diagnostics, `${dir}/db`, "cannot read: ENOENT");
    });
  });

  test("a file with errors but a type still takes part in the graph", () => {
    const r = compileFiles({ db: longrun("umask = 9"), web: longrun("requires = db") });
    assertOneError(r.diagnostics, `${r.dir}/db:3:9`, "is not an octal umask");
  });
});

describe("cycles", () => {
  test("a dependency cycle, printed in order, naming every file", () => {
    const r = compileFiles({ a: longrun("requires = b"), b: longrun("requires = c"), c: longrun("requires = a") });
    const d = assertOneError(r.diagnostics, `${r.dir}/a:3:12`, "dependency cycle: a → b → c → a");
    assert.ok(d.message.endsWith(`(${r.dir}/a:3, ${r.dir}/b:3, ${r.dir}/c:3)`), d.message);
  });

  test("a dependency cycle through a bundle", () => {
    const r = compileFiles({ a: longrun("requires = grp"), grp: bundle("b"), b: longrun("requires = a") });
    assertOneError(r.diagnostics, `${r.dir}/a:3:12`, "dependency cycle: a → b → a");
  });

  test("a service requiring a bundle that holds it", () => {
    const r = compileFiles({ a: longrun("requires = grp"), grp: bundle("a b"), b: longrun() });
    assertOneError(r.diagnostics, `${r.dir}/a:3:12`, "dependency cycle: a → a");
  });

  test("a self reference", () => {
    for (const key of ["requires", "wants", "after", "before"]) {
      const r = compileFiles({ a: longrun(`${key} = a`) });
      assertOneError(r.diagnostics, `${r.dir}/a:3:${key.length + 4}`, `'a' names itself in '${key}'`);
    }
  });

  test("a bundle that contains itself directly", () => {
    const r = compileFiles({ default: bundle("web default"), web: longrun() });
    assertOneError(r.diagnostics, `${r.dir}/default:2:16`, "'default' names itself in 'contents'");
  });

  test("a bundle that contains itself through others", () => {
    const r = compileFiles({ x: bundle("y"), y: bundle("web z"), z: bundle("x"), web: longrun() });
    const d = assertOneError(r.diagnostics, `${r.dir}/x:2:12`, "bundle 'x' contains itself: x → y → z → x");
    assert.ok(d.message.includes(`(${r.dir}/x:2, ${r.dir}/y:2, ${r.dir}/z:2)`), d.message);
  });

  test("an ordering cycle through after", () => {
    const r = compileFiles({ a: longrun("after = b"), b: longrun("after = a") });
    assertOneError(r.diagnostics, `${r.dir}/a:3:9`, "ordering cycle (each must start after the next): a → b → a");
  });

  test("an ordering cycle through before", () => {
    const r = compileFiles({ a: longrun("after = b", "before = b"), b: longrun() });
    assertOneError(r.diagnostics, `${r.dir}/a:3:9`, "ordering cycle", "a → b → a");
  });

  test("an ordering cycle mixing requires, wants and after", () => {
    const r = compileFiles({ a: longrun("requires = b"), b: longrun("wants = c"), c: longrun("after = a") });
    assertOneError(r.diagnostics, `${r.dir}/a:3:12`, "ordering cycle", "a → b → c → a");
  });

  test("a dependency cycle is not reported again as an ordering cycle", () => {
    const r = compileFiles({ a: longrun("requires = b"), b: longrun("requires = a") });
    assertOneError(r.diagnostics, `${r.dir}/a:3:12`, "dependency cycle: a → b → a");
  });

  test("two separate cycles are two errors", () => {
    const r = compileFiles({
      a: longrun("requires = b"),
      b: longrun("requires = a"),
      c: longrun("requires = d"),
      d: longrun("requires = c"),
    });
    const errors = errorsOf(r.diagnostics);
    assert.deepEqual(
      errors.map((d) => d.message.split(" (")[0]),
      ["dependency cycle: a → b → a", "dependency cycle: c → d → c"],
    );
  });

  test("long chains of requirements and of nested bundles do not overflow the stack", () => {
    const files: Record<string, string> = {};
    const n = 4000;
    for (let i = 0; i < n; i++) {
      files[`s${i}`] = i + 1 < n ? longrun(`requires = s${i + 1}`) : longrun();
      files[`b${i}`] = bundle(i + 1 < n ? `b${i + 1}` : "s0");
    }
    files.default = bundle("b0");
    const r = compileFiles(files);
    assert.equal(r.accepted, true, show(r.diagnostics));
    assert.equal(r.compiled!.boot.length, n);
    assert.deepEqual(r.compiled!.boot[0], [`s${n - 1}`]);
    assert.deepEqual(r.compiled!.graph.bundles.b0, ["s0"]);
  });

  test("a long cycle of requirements is found and printed whole", () => {
    const files: Record<string, string> = {};
    const n = 3000;
    for (let i = 0; i < n; i++) files[`s${i}`] = longrun(`requires = s${(i + 1) % n}`);
    const r = compileFiles(files);
    const errors = errorsOf(r.diagnostics);
    assert.equal(errors.length, 1, show(r.diagnostics).slice(0, 2000));
    assert.ok(errors[0]!.message.startsWith("dependency cycle: s0 → s1 → s2 → "), errors[0]!.message.slice(0, 200));
  });
});

describe("types in the graph", () => {
  test("requiring a task is an error", () => {
    const r = compileFiles({ t: task(), web: longrun("requires = t") });
    assertOneError(r.diagnostics, `${r.dir}/web:3:12`, "'t' is a task and is never up, so it cannot be required");
  });

  test("requiring a bundle that contains a task is an error too", () => {
    const r = compileFiles({ t: task(), grp: bundle("t"), web: longrun("requires = grp") });
    assertOneError(r.diagnostics, `${r.dir}/web:3:12`, "'grp' contains the task 't', which is never up, so it cannot be required");
  });

  test("ordering after a task and wanting one are fine", () => {
    const r = compileFiles({ t: task(), web: longrun("after = t", "wants = t"), default: bundle("web") });
    assert.equal(r.accepted, true, show(r.diagnostics));
  });
});

describe("the source directory", () => {
  test("the examples are accepted without a diagnostic", () => {
    const r = compile({ sourceDir: EXAMPLES, hostChecks: false });
    assert.equal(r.accepted, true, show(r.diagnostics));
    assert.deepEqual(r.diagnostics, []);
    const files = readdirSync(EXAMPLES, { withFileTypes: true }).filter((e) => e.isFile());
    assert.equal(r.serviceCount, files.length);
    assert.deepEqual(Object.keys(r.compiled!.services), files.map((f) => f.name).sort());
  });

  test("leftovers, hidden files and directories are not services", () => {
    withTemp((dir) => {
      writeSource(dir, {
        web: longrun(),
        default: bundle("web"),
        ".hidden": "junk",
        "web~": "junk",
        "web.dpkg-old": "junk",
        "web.swp": "junk",
        "web.rpmnew": "junk",
      });
      mkdirSync(join(dir, "programs"));
      writeFileSync(join(dir, "programs", "run"), "junk");
      const r = compile({ sourceDir: dir, hostChecks: false });
      assert.equal(r.accepted, true, show(r.diagnostics));
      assert.equal(r.serviceCount, 2);
      assert.deepEqual(r.skipped.map((s) => s.file).sort(), [".hidden", "web.dpkg-old", "web.rpmnew", "web.swp", "web~"].map((n) => join(dir, n)).sort());
    });
  });

  test("a file whose name is not a service name", () => {
    const r = compileFiles({ "bad name": longrun(), default: bundle("web"), web: longrun() });
    assertOneError(r.diagnostics, `${r.dir}/bad name`, "'bad name' is not a valid service name");
  });

  test("an empty directory has nothing to compile", () => {
    const r = compileFiles({});
    assertOneError(r.diagnostics, r.dir, "no service files here");
  });

  test("a directory that does not exist", () => {
    const r = compile({ sourceDir: "/nonexistent/tend-source", hostChecks: false });
    assert.equal(r.accepted, false);
    assertOneError(r.diagnostics, "/nonexistent/tend-source", "cannot read the source directory: ENOENT");
  });

  test("without a default bundle the set is accepted with a warning", () => {
    const r = compileFiles({ web: longrun() });
    assert.equal(r.accepted, true);
    assertHas(r.diagnostics, "warning", r.dir, "there is no 'default' bundle");
    assert.deepEqual(r.compiled!.boot, []);
  });

  test("diagnostics come sorted by file, line and column", () => {
    const r = compileFiles({ b: longrun("umask = 9", "restrat = x"), a: longrun("stop-signal = X", "requires = zz") });
    const keys = r.diagnostics.map((d) => [d.file, d.line, d.col] as const);
    const sorted = [...keys].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1] || x[2] - y[2]));
    assert.deepEqual(keys, sorted);
    assert.equal(errorsOf(r.diagnostics).length, 4, show(r.diagnostics));
  });

  test("a rejected set has no compiled result", () => {
    const r = compileFiles({ web: longrun("requires = nosuch") });
    assert.equal(r.accepted, false);
    assert.equal(r.compiled, null);
  });

  test("compiling the same files twice gives the same digest", () => {
    withTemp((dir) => {
      writeSource(dir, { web: longrun(), default: bundle("web") });
      const a = compile({ sourceDir: dir, hostChecks: false });
      const b = compile({ sourceDir: dir, hostChecks: false });
      assert.equal(a.compiled!.digest, b.compiled!.digest);
      writeSource(dir, { web: longrun("stop-signal = INT") });
      const c = compile({ sourceDir: dir, hostChecks: false });
      assert.notEqual(c.compiled!.digest, a.compiled!.digest);
    });
  });
});
