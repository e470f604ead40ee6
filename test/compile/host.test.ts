// Checks against the machine: programs that must exist and be executable, users and
// groups that must exist. `--portable` (hostChecks: false) skips all of them.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { accessSync, chmodSync, constants, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../src/compile/compile.js";
import type { HostFacts } from "../../src/compile/host.js";
import { assertHas, assertOneError, errorsOf, show, withTemp, writeSource } from "../helpers.js";

const HOST: HostFacts = { users: new Set(["root", "daemon"]), groups: new Set(["root", "wheel"]), canSwitchUser: true };

/** Compiles `files` in a temporary directory that also holds `programs/run` (mode `mode`). */
function compileWithProgram(files: (dir: string) => Record<string, string>, mode = 0o755, host: HostFacts = HOST, hostChecks = true) {
  return withTemp((dir) => {
    mkdirSync(join(dir, "programs"));
    const program = join(dir, "programs", "run");
    writeFileSync(program, "#!/bin/sh\nexit 0\n");
    chmodSync(program, mode);
    writeSource(dir, { default: "type = bundle\ncontents = web\n", ...files(dir) });
    return { ...compile({ sourceDir: dir, hostChecks, host }), dir, program };
  });
}

const web = (...lines: string[]) => ({ web: ["type = longrun", ...lines, ""].join("\n") });

describe("programs", () => {
  test("a program that exists and is executable is accepted", () => {
    const r = compileWithProgram((dir) => web(`command = ${dir}/programs/run --flag`));
    assert.equal(r.accepted, true, show(r.diagnostics));
    assert.deepEqual(r.diagnostics, []);
  });

  test("a program that does not exist", () => {
    const r = compileWithProgram(() => web("command = /nonexistent/tend/prog"));
    assertOneError(r.diagnostics, `${r.dir}/web:2:11`, "'command': '/nonexistent/tend/prog' does not exist");
  });

  test("a program whose name is longer than a file name may be is reported, not a crash (ENAMETOOLONG)", () => {
    const long = `/${"a".repeat(300)}`;
    const bare = "b".repeat(300);
    for (const [program, problem] of [
      [long, `'${long}' does not exist`],
      [bare, `'${bare}' is not found in PATH`],
    ] as const) {
      const r = compileWithProgram(() => web(`command = ${program}`));
      assertOneError(r.diagnostics, `${r.dir}/web:2:11`, `'command': ${problem}`);
    }
  });

  test("a program that is not executable (no x bit at all, which fails for root too)", () => {
    const r = compileWithProgram((dir) => web(`command = ${dir}/programs/run`), 0o644);
    assertOneError(r.diagnostics, `${r.dir}/web:2:11`, `'command': '${r.dir}/programs/run' is not executable`);
  });

  test("root may run a file with any x bit; others need theirs", () => {
    // accessSync(X_OK) as root succeeds when any execute bit is set; as the owner it
    // follows the owner's bits. The compiler asks the kernel, so it agrees with both.
    const r = compileWithProgram((dir) => web(`command = ${dir}/programs/run`), 0o645);
    const rootLike = process.getuid?.() === 0;
    let kernelSays = true;
    withTemp((dir) => {
      const f = join(dir, "f");
      writeFileSync(f, "");
      chmodSync(f, 0o645);
      try {
        accessSync(f, constants.X_OK);
      } catch {
        kernelSays = false;
      }
    });
    if (rootLike) assert.equal(kernelSays, true);
    assert.equal(r.accepted, kernelSays, show(r.diagnostics));
  });

  test("a directory is not a program", () => {
    const r = compileWithProgram((dir) => web(`command = ${dir}/programs`));
    assertOneError(r.diagnostics, `${r.dir}/web:2:11`, `'${r.dir}/programs' is not a file`);
  });

  test("a relative program is resolved against cwd", () => {
    const ok = compileWithProgram(() => web("command = ./programs/run", "cwd = ."));
    assert.equal(ok.accepted, true, show(ok.diagnostics));
    const missing = compileWithProgram(() => web("command = programs/nosuch", "cwd = ."));
    assertOneError(missing.diagnostics, `${missing.dir}/web:2:11`, `'${missing.dir}/programs/nosuch' does not exist`);
  });

  test("a relative program without cwd is resolved against /", () => {
    const r = compileWithProgram(() => web("command = programs/run"));
    assertOneError(r.diagnostics, `${r.dir}/web:2:11`, "'/programs/run' does not exist");
  });

  test("a bare name is looked up in the clean PATH, not the caller's", () => {
    const found = compileWithProgram(() => web("command = sh -c 'exit 0'"));
    assert.equal(found.accepted, true, show(found.diagnostics));
    const missing = compileWithProgram(() => web("command = tend-no-such-program-xyz"));
    assertOneError(missing.diagnostics, `${missing.dir}/web:2:11`, "'tend-no-such-program-xyz' is not found in PATH (/usr/local/sbin:");
  });

  test("a bare name is found in the PATH the file sets", () => {
    const r = compileWithProgram((dir) => web("command = run", `env = PATH=${dir}/programs`));
    assert.equal(r.accepted, true, show(r.diagnostics));
  });

  test("every command key is checked, and the readiness probe", () => {
    const r = withTemp((dir) => {
      writeSource(dir, {
        web: "type = longrun\ncommand = /bin/sh\npre-start = /nonexistent/a\npost-stop = /nonexistent/b\nready = exec:/nonexistent/c x\n",
        mount: "type = oneshot\nup = /nonexistent/d\ndown = /nonexistent/e\n",
      });
      return { ...compile({ sourceDir: dir, hostChecks: true, host: HOST }), dir };
    });
    assert.deepEqual(
      errorsOf(r.diagnostics).map((d) => `${d.file.slice(r.dir.length + 1)}:${d.line}:${d.col} ${d.message.split(":")[0]}`),
      ["mount:2:6 'up'", "mount:3:8 'down'", "web:3:13 'pre-start'", "web:4:13 'post-stop'", "web:5:9 'ready'"],
    );
  });
});

describe("users and groups", () => {
  test("a user that does not exist", () => {
    const r = compileWithProgram((dir) => web(`command = ${dir}/programs/run`, "user = nosuchuser"));
    assertOneError(r.diagnostics, `${r.dir}/web:3:8`, "'user = nosuchuser': no such user on this machine");
  });

  test("a group that does not exist", () => {
    const r = compileWithProgram((dir) => web(`command = ${dir}/programs/run`, "user = daemon", "group = nosuchgroup"));
    assertOneError(r.diagnostics, `${r.dir}/web:4:9`, "'group = nosuchgroup': no such group on this machine");
  });

  test("users and groups that exist, and numbers, are accepted", () => {
    const r = compileWithProgram((dir) => web(`command = ${dir}/programs/run`, "user = daemon", "group = wheel"));
    assert.deepEqual(r.diagnostics, [], show(r.diagnostics));
    const n = compileWithProgram((dir) => web(`command = ${dir}/programs/run`, "user = 4242", "group = 4343"));
    assert.deepEqual(n.diagnostics, [], show(n.diagnostics));
  });

  test("switching users without root is a warning", () => {
    const r = compileWithProgram((dir) => web(`command = ${dir}/programs/run`, "user = daemon"), 0o755, { ...HOST, canSwitchUser: false });
    assert.equal(r.accepted, true);
    assertHas(r.diagnostics, "warning", `${r.dir}/web:3:8`, "take effect only when the server runs as root");
  });

  test("this machine's own facts: root exists, a made-up user does not", () => {
    const root = withTemp((dir) => {
      writeSource(dir, web("command = /bin/sh", "user = root"));
      return compile({ sourceDir: dir, hostChecks: true });
    });
    assert.equal(root.accepted, true, show(root.diagnostics));
    const nobody = withTemp((dir) => {
      writeSource(dir, web("command = /bin/sh", "user = tend-no-such-user"));
      return compile({ sourceDir: dir, hostChecks: true });
    });
    assert.equal(nobody.accepted, false);
  });
});

describe("things that may appear later are warnings", () => {
  test("a cwd that does not exist", () => {
    const r = compileWithProgram(() => web("command = /bin/sh", "cwd = /nonexistent/tend-dir"));
    assert.equal(r.accepted, true);
    assertHas(r.diagnostics, "warning", `${r.dir}/web:3:7`, "'cwd = /nonexistent/tend-dir' does not exist (yet)");
  });

  test("an env-file that cannot be read, unless it is optional", () => {
    const r = compileWithProgram(() => web("command = /bin/sh", "env-file = /nonexistent/env", "env-file = -/nonexistent/optional"));
    assert.equal(r.accepted, true);
    assert.equal(r.diagnostics.length, 1, show(r.diagnostics));
    assertHas(r.diagnostics, "warning", `${r.dir}/web:3:12`, "'env-file = /nonexistent/env' cannot be read");
  });
});

test("--portable (hostChecks: false) skips every host check", () => {
  const r = compileWithProgram(
    () => web("command = /nonexistent/prog", "user = nosuchuser", "group = nosuchgroup", "cwd = /nonexistent", "ready = exec:nosuch-probe", "env-file = /nonexistent/env"),
    0o644,
    { users: new Set(), groups: new Set(), canSwitchUser: false },
    false,
  );
  assert.equal(r.accepted, true, show(r.diagnostics));
  assert.deepEqual(r.diagnostics, []);
});
