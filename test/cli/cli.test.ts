// The built `tend` command, run as a user would: bin/tend with this node.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../src/compile/compile.js";
import { readDatabase } from "../../src/compile/database.js";
import type { Diagnostic } from "../../src/config/diagnostics.js";
import { EXAMPLES, REPO, childEnv, runTend, withTemp, writeSource } from "../helpers.js";

const GOOD = {
  web: "type = longrun\ncommand = /bin/sh -c 'exec sleep 1000'\nrequires = prep\n",
  prep: "type = oneshot\nup = /bin/true\n",
  default: "type = bundle\ncontents = web\n",
};
const BROKEN = {
  web: "type = longrun\ncommand = /bin/true\nrequires = prepp\nstop-signal = TERN\n",
  prep: "type = oneshot\nup = /bin/true\n",
};

const stateDir = (root: string): string => join(root, "var/lib/tend");

interface CheckJson {
  accepted: boolean;
  source: string;
  services: number;
  errors: number;
  warnings: number;
  diagnostics: Diagnostic[];
  skipped: { file: string; why: string }[];
  boot: string[][] | null;
  installed: { changed: boolean; generation: number; path: string; digest: string } | null;
}

describe("tend check", () => {
  test("the examples are accepted and the boot plan is printed", () => {
    const r = runTend(["check", "examples"]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^accepted: examples: \d+ services, 0 errors, 0 warnings$/m);
    const expected = compile({ sourceDir: EXAMPLES, hostChecks: true }).compiled!.boot;
    const total = expected.flat().length;
    assert.match(r.stdout, new RegExp(`^boot plan for 'default': ${total} services in ${expected.length} waves$`, "m"));
    const waves = r.stdout
      .split("\n")
      .filter((l) => /^\s+\d+\. /.test(l))
      .map((l) => l.replace(/^\s+\d+\.\s+/, "").split(/\s+/));
    assert.deepEqual(waves, expected);
    assert.equal(/\x1b\[/.test(r.stdout), false, "no colour when stdout is not a terminal");
  });

  test("a broken directory exits 1 with every error on stdout", () => {
    withTemp((dir) => {
      writeSource(dir, BROKEN);
      const r = runTend(["check", dir, "--portable"]);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, "");
      const lines = r.stdout.trimEnd().split("\n");
      assert.ok(lines.includes(`${dir}/web:3:12: error: 'requires' names 'prepp', which has no service file (did you mean 'prep'?)`), r.stdout);
      assert.ok(lines.includes(`${dir}/web:4:15: error: 'TERN' is not a signal (did you mean 'TERM'?)`), r.stdout);
      assert.ok(lines.includes(`${dir}: warning: there is no 'default' bundle: booting this set starts nothing`), r.stdout);
      assert.equal(lines.at(-1), `rejected: ${dir}: 2 errors, 1 warning in 2 service files`);
    });
  });

  test("--json on an accepted set", () => {
    const r = runTend(["--json", "check", "examples"]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as CheckJson;
    assert.equal(out.accepted, true);
    assert.equal(out.errors, 0);
    assert.deepEqual(out.diagnostics, []);
    assert.deepEqual(out.boot, compile({ sourceDir: EXAMPLES, hostChecks: true }).compiled!.boot);
    assert.equal(out.installed, null, "check installs nothing");
    assert.equal(out.source, "examples");
  });

  test("--json on a rejected set", () => {
    withTemp((dir) => {
      writeSource(dir, BROKEN);
      const r = runTend(["check", dir, "--json", "--portable"]);
      assert.equal(r.status, 1);
      const out = JSON.parse(r.stdout) as CheckJson;
      assert.equal(out.accepted, false);
      assert.equal(out.boot, null);
      assert.equal(out.errors, 2);
      assert.equal(out.warnings, 1);
      assert.equal(out.services, 2);
      for (const d of out.diagnostics) {
        assert.deepEqual(Object.keys(d).sort(), ["col", "file", "line", "message", "severity"]);
      }
      assert.deepEqual(
        out.diagnostics.filter((d) => d.severity === "error").map((d) => [d.file, d.line, d.col]),
        [
          [`${dir}/web`, 3, 12],
          [`${dir}/web`, 4, 15],
        ],
      );
    });
  });

  test("host checks run unless --portable", () => {
    withTemp((dir) => {
      writeSource(dir, { web: "type = longrun\ncommand = /nonexistent/tend/prog\n", default: "type = bundle\ncontents = web\n" });
      const checked = runTend(["check", dir]);
      assert.equal(checked.status, 1);
      assert.ok(checked.stdout.includes(`${dir}/web:2:11: error: 'command': '/nonexistent/tend/prog' does not exist`), checked.stdout);
      const portable = runTend(["check", "--portable", dir]);
      assert.equal(portable.status, 0, portable.stdout);
    });
  });

  test("skipped files are listed", () => {
    withTemp((dir) => {
      writeSource(dir, { ...GOOD, "web~": "junk" });
      const r = runTend(["check", dir, "--portable"]);
      assert.equal(r.status, 0, r.stdout);
      assert.ok(r.stdout.includes(`${dir}/web~: skipped (backup or package-manager leftover)`), r.stdout);
    });
  });

  test("with --root and no directory, the sources are ROOT/etc/tend", () => {
    withTemp((root) => {
      writeSource(join(root, "etc/tend"), GOOD);
      const r = runTend(["--root", root, "check", "--portable"]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.ok(r.stdout.includes(`accepted: ${join(root, "etc/tend")}: 3 services`), r.stdout);
    });
  });
});

describe("tend compile", () => {
  test("installs into ROOT/var/lib/tend/db.json, then reports an unchanged configuration", () => {
    withTemp((root) => {
      const src = writeSource(join(root, "src"), GOOD);
      const first = runTend(["compile", src, "--root", root, "--portable"]);
      assert.equal(first.status, 0, first.stdout + first.stderr);
      assert.ok(first.stdout.includes(`installed generation 1 in ${stateDir(root)}`), first.stdout);
      assert.ok(existsSync(join(stateDir(root), "db.json")));
      const db = readDatabase(stateDir(root));
      assert.ok(db.ok, db.ok ? "" : db.message);
      assert.deepEqual(Object.keys(db.database.services), ["default", "prep", "web"]);
      assert.deepEqual(db.database.boot, [["prep"], ["web"]]);
      assert.equal(db.database.source, src);

      const again = runTend(["compile", src, "--root", root, "--portable"]);
      assert.equal(again.status, 0);
      assert.ok(again.stdout.includes(`unchanged: generation 1 in ${stateDir(root)} is this configuration already`), again.stdout);

      writeSource(src, { web: GOOD.web.replace("exec sleep", "exec  sleep") });
      const json = runTend(["--json", "compile", src, "--root", root, "--portable"]);
      assert.equal(json.status, 0);
      const out = JSON.parse(json.stdout) as CheckJson;
      assert.equal(out.installed!.changed, true);
      assert.equal(out.installed!.generation, 2);
      assert.equal(out.installed!.path, stateDir(root));
      assert.equal(readDatabase(stateDir(root), "db.prev.json").ok, true);
    });
  });

  test("TEND_ROOT moves the places like --root", () => {
    withTemp((root) => {
      writeSource(join(root, "etc/tend"), GOOD);
      const r = runTend(["compile", "--portable"], { env: { TEND_ROOT: root } });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.ok(readDatabase(stateDir(root)).ok);
    });
  });

  test("a rejected source never replaces the installed database", () => {
    withTemp((root) => {
      const src = writeSource(join(root, "src"), GOOD);
      assert.equal(runTend(["compile", src, "--root", root, "--portable"]).status, 0);
      const before = readFileSync(join(stateDir(root), "db.json"));

      writeSource(src, BROKEN);
      const r = runTend(["compile", src, "--root", root, "--portable"]);
      assert.equal(r.status, 1);
      assert.ok(r.stdout.includes("rejected: "), r.stdout);
      assert.ok(r.stdout.trimEnd().endsWith("nothing was installed; the installed database is unchanged"), r.stdout);
      assert.deepEqual(readFileSync(join(stateDir(root), "db.json")), before);
      assert.deepEqual(readdirSync(stateDir(root)), ["db.json"], "no previous database or temporary file appears");

      const json = runTend(["--json", "compile", src, "--root", root, "--portable"]);
      assert.equal(json.status, 1);
      assert.equal((JSON.parse(json.stdout) as CheckJson).installed, null);
      assert.deepEqual(readFileSync(join(stateDir(root), "db.json")), before);
    });
  });

  test("a rejected first compile installs nothing", () => {
    withTemp((root) => {
      const src = writeSource(join(root, "src"), BROKEN);
      const r = runTend(["compile", src, "--root", root, "--portable"]);
      assert.equal(r.status, 1);
      assert.equal(existsSync(join(stateDir(root), "db.json")), false);
    });
  });
});

describe("usage", () => {
  test("--version", () => {
    const r = runTend(["--version"]);
    assert.equal(r.status, 0);
    const { version } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    assert.equal(r.stdout, `tend ${version}\n`);
  });

  test("an unknown command exits 2 with the usage on stderr", () => {
    const r = runTend(["frobnicate"]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^tend: unknown command 'frobnicate'\nusage: tend /);
  });

  test("an unknown option exits 2", () => {
    const r = runTend(["check", "--bogus"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^tend: .*--bogus/);
  });

  test("no command exits 2 and prints the usage on stderr; --help exits 0", () => {
    const none = runTend([]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /a command is needed\nusage: tend /);
    const help = runTend(["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: tend /);
  });

  test("check takes at most one directory", () => {
    const r = runTend(["check", "a", "b"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /'check' takes at most 1 argument/);
  });
});

test("the CLI runs without NODE_EXTRA_CA_CERTS in its environment", () => {
  assert.equal("NODE_EXTRA_CA_CERTS" in childEnv({ NODE_EXTRA_CA_CERTS: "/x.pem" }), false);
});
