// Strict modes (src/compile/strict.ts): when the compiler runs as root, what tend will
// run as root must be root's alone to change — the service file, its source directory
// and those above it, env-files and programs — or, for what runs as a service's own
// user, that user's. Each case needs real owners (chown), so these run only as root.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../src/compile/compile.js";
import { assertHas, errorsOf, show, withTemp, writeSource } from "../helpers.js";

const IS_ROOT = process.geteuid?.() === 0;
const skip = IS_ROOT ? false : "strict modes apply only when the compiler runs as root (and the tests need chown)";
const NOBODY = 65534;

/**
 * A source directory `DIR/src` (root's, 0755) beside `DIR/bin/prog` (root's, 0755),
 * as `arrange` leaves them; compiled with the host checks of this machine.
 */
function compileAs(files: (dir: string) => Record<string, string>, arrange: (dir: string) => void = () => {}, hostChecks = true) {
  return withTemp((dir) => {
    chmodSync(dir, 0o755);
    const src = join(dir, "src");
    mkdirSync(src, { mode: 0o755 });
    mkdirSync(join(dir, "bin"), { mode: 0o755 });
    writeFileSync(join(dir, "bin", "prog"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    writeSource(src, { default: "type = bundle\ncontents = web\n", ...files(dir) });
    for (const name of ["default", "web"]) chmodSync(join(src, name), 0o644);
    arrange(dir);
    return { ...compile({ sourceDir: src, hostChecks }), dir, src };
  });
}

const web = (dir: string, ...lines: string[]) => ({ web: ["type = longrun", `command = ${dir}/bin/prog`, ...lines, ""].join("\n") });

describe("strict modes", { skip }, () => {
  test("root's files in root's directories are accepted (what every other test relies on)", () => {
    const r = compileAs((dir) => web(dir));
    assert.equal(r.accepted, true, show(r.diagnostics));
  });

  test("a service file owned by nobody, mode 0666, is refused: the file, its owner, its mode and the fix", () => {
    const r = compileAs(
      (dir) => web(dir),
      (dir) => {
        chownSync(join(dir, "src", "web"), NOBODY, NOBODY);
        chmodSync(join(dir, "src", "web"), 0o666);
      },
    );
    assert.equal(r.accepted, false);
    const file = join(r.src, "web");
    assertHas(r.diagnostics, "error", file, `${file} (owned by`, "uid 65534, mode 0666) belongs to another user", `chown root ${file} && chmod go-w ${file}`, "--portable");
  });

  test("a service file only its group may write is refused too", () => {
    const r = compileAs((dir) => web(dir), (dir) => chmodSync(join(dir, "src", "web"), 0o664));
    assertHas(r.diagnostics, "error", join(r.src, "web"), "mode 0664) is writable by its group");
  });

  test("a program owned by nobody is refused at the line of the key that runs it", () => {
    const r = compileAs(
      (dir) => web(dir),
      (dir) => chownSync(join(dir, "bin", "prog"), NOBODY, NOBODY),
    );
    assert.equal(errorsOf(r.diagnostics).length, 1, show(r.diagnostics));
    assertHas(r.diagnostics, "error", `${r.src}/web:2:11`, `'command': ${r.dir}/bin/prog (owned by`, "uid 65534", "belongs to another user");
  });

  test("a program in a directory others may write is refused: whoever writes the directory may replace it", () => {
    const r = compileAs(
      (dir) => web(dir, `pre-start = ${dir}/bin/prog --before`),
      (dir) => chmodSync(join(dir, "bin"), 0o777),
    );
    // One error for the one directory, at the first key that needs it.
    assert.equal(errorsOf(r.diagnostics).length, 1, show(r.diagnostics));
    assertHas(r.diagnostics, "error", `${r.src}/web:2:11`, `${r.dir}/bin (owned by root`, "mode 0777) is writable by its group and others");
  });

  test("a program found through a symlink: the file it names is checked", () => {
    const r = compileAs(
      (dir) => ({ web: `type = longrun\ncommand = ${dir}/bin/link\n` }),
      (dir) => {
        writeFileSync(join(dir, "theirs"), "#!/bin/sh\n", { mode: 0o755 });
        chownSync(join(dir, "theirs"), NOBODY, NOBODY);
        symlinkSync(join(dir, "theirs"), join(dir, "bin", "link"));
      },
    );
    assertHas(r.diagnostics, "error", `${r.src}/web:2:11`, `'command': ${r.dir}/theirs (owned by`, "belongs to another user");
  });

  test("a group-writable source directory is refused, once, at the directory", () => {
    const r = compileAs((dir) => web(dir), (dir) => chmodSync(join(dir, "src"), 0o775));
    assert.equal(errorsOf(r.diagnostics).length, 1, show(r.diagnostics));
    assertHas(r.diagnostics, "error", r.src, "the source directory", `${r.src} (owned by root`, "mode 0775) is writable by its group");
  });

  test("a directory above the source directory counts too", () => {
    const r = compileAs((dir) => web(dir), (dir) => chownSync(dir, NOBODY, NOBODY));
    assertHas(r.diagnostics, "error", r.src, "the source directory", `${r.dir} (owned by`, "uid 65534", "belongs to another user");
  });

  test("a 0600 env-file owned by the service's own user is accepted; the same file for a service run as root is not", () => {
    const arrange = (dir: string): void => {
      writeFileSync(join(dir, "env"), "SECRET=1\n", { mode: 0o600 });
      chownSync(join(dir, "env"), NOBODY, NOBODY);
    };
    const asNobody = compileAs((dir) => web(dir, "user = nobody", `env-file = ${dir}/env`), arrange);
    assert.equal(asNobody.accepted, true, show(asNobody.diagnostics));
    const asRoot = compileAs((dir) => web(dir, `env-file = ${dir}/env`), arrange);
    assertHas(asRoot.diagnostics, "error", `${asRoot.src}/web:3:12`, `'env-file': ${asRoot.dir}/env (owned by`, "uid 65534, mode 0600) belongs to another user");
  });

  test("a program owned by the service's user may run as that user, not as root", () => {
    const arrange = (dir: string): void => chownSync(join(dir, "bin", "prog"), NOBODY, NOBODY);
    const asNobody = compileAs((dir) => web(dir, "user = nobody"), arrange);
    assert.equal(asNobody.accepted, true, show(asNobody.diagnostics));
    const numeric = compileAs((dir) => web(dir, `user = ${NOBODY}`), arrange);
    assert.equal(numeric.accepted, true, show(numeric.diagnostics));
  });

  test("an env-file that does not exist yet in a directory anyone may write (/tmp) is refused: anyone may create it", () => {
    const missing = `/tmp/tend-test-missing-${process.pid}`;
    const r = compileAs((dir) => web(dir, `env-file = -${missing}`));
    assertHas(r.diagnostics, "error", `${r.src}/web:3:12`, `${missing} does not exist, and /tmp (owned by root`, "so someone else may create it");
  });

  test("a root-owned entry in a sticky directory is fine: nobody else may replace it", () => {
    const r = compileAs((dir) => web(dir), (dir) => chmodSync(dir, 0o1777));
    assert.equal(r.accepted, true, show(r.diagnostics));
  });

  test("--portable (no host checks) turns strict modes off, for a set built elsewhere", () => {
    const r = compileAs(
      (dir) => web(dir),
      (dir) => {
        chownSync(join(dir, "src", "web"), NOBODY, NOBODY);
        chmodSync(join(dir, "src"), 0o777);
      },
      false,
    );
    assert.equal(r.accepted, true, show(r.diagnostics));
  });
});
