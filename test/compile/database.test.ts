// Installing the compiled database: generations, the kept previous database, no-op
// reinstalls, and a real crash (SIGKILL) between writing the new file and renaming it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DB_FILE,
  DB_FORMAT,
  DB_VERSION,
  PREVIOUS_DB_FILE,
  installDatabase,
  readDatabase,
  type CompiledSet,
} from "../../src/compile/database.js";
import { childEnv, compileFiles, show, withTemp } from "../helpers.js";

/** The compiled database module this test runs against, for the child process to import. */
const DATABASE_MODULE = new URL("../../src/compile/database.js", import.meta.url).href;

function compiled(signal: string): CompiledSet {
  const r = compileFiles({
    web: `type = longrun\ncommand = /bin/true\nstop-signal = ${signal}\n`,
    default: "type = bundle\ncontents = web\n",
  });
  assert.equal(r.accepted, true, show(r.diagnostics));
  return r.compiled!;
}

const A = compiled("TERM");
const B = compiled("INT");
const C = compiled("QUIT");

const generationIn = (dir: string, file = DB_FILE): number => {
  const r = readDatabase(dir, file);
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.database.generation;
};

describe("installDatabase", () => {
  test("the first install is generation 1, with no previous database", () => {
    withTemp((root) => {
      const dir = join(root, "var/lib/tend");
      const r = installDatabase(dir, A, { now: new Date("2024-01-02T03:04:05Z") });
      assert.equal(r.changed, true);
      assert.ok(r.changed && r.previous === null);
      const db = readDatabase(dir);
      assert.ok(db.ok);
      assert.equal(db.database.format, DB_FORMAT);
      assert.equal(db.database.version, DB_VERSION);
      assert.equal(db.database.generation, 1);
      assert.equal(db.database.compiledAt, "2024-01-02T03:04:05.000Z");
      assert.equal(db.database.digest, A.digest);
      assert.deepEqual(db.database.boot, A.boot);
      // The same records, rebuilt without prototypes (names are user input): compared as JSON.
      assert.equal(JSON.stringify(db.database.services), JSON.stringify(A.services));
      assert.equal(existsSync(join(dir, PREVIOUS_DB_FILE)), false);
    });
  });

  test("a second install is generation 2, and db.prev.json holds generation 1", () => {
    withTemp((dir) => {
      installDatabase(dir, A);
      const r = installDatabase(dir, B);
      assert.equal(r.changed, true);
      assert.equal(r.database.generation, 2);
      assert.ok(r.changed && r.previous?.generation === 1);
      assert.equal(generationIn(dir), 2);
      assert.equal(generationIn(dir, PREVIOUS_DB_FILE), 1);
      const prev = readDatabase(dir, PREVIOUS_DB_FILE);
      assert.ok(prev.ok && prev.database.digest === A.digest);
      installDatabase(dir, C);
      assert.equal(generationIn(dir), 3);
      assert.equal(generationIn(dir, PREVIOUS_DB_FILE), 2);
      assert.deepEqual(readdirSync(dir).sort(), [DB_FILE, PREVIOUS_DB_FILE], "no temporary file is left");
    });
  });

  test("installing the same configuration again changes nothing", () => {
    withTemp((dir) => {
      installDatabase(dir, A);
      installDatabase(dir, B);
      const before = readFileSync(join(dir, DB_FILE), "utf8");
      const r = installDatabase(dir, B);
      assert.equal(r.changed, false);
      assert.equal(r.database.generation, 2);
      assert.equal(readFileSync(join(dir, DB_FILE), "utf8"), before);
      assert.equal(generationIn(dir, PREVIOUS_DB_FILE), 1, "the previous database is kept as it was");
    });
  });

  test("a damaged installed database is replaced", () => {
    withTemp((dir) => {
      writeFileSync(join(dir, DB_FILE), "{ not json");
      const r = installDatabase(dir, A);
      assert.equal(r.changed, true);
      assert.ok(readDatabase(dir).ok);
    });
  });

  test("a temporary file of a process that still runs is left alone", () => {
    withTemp((dir) => {
      const live = join(dir, `${DB_FILE}.tmp-1`); // pid 1 always runs
      const other = join(dir, "notes.txt");
      writeFileSync(live, "partial");
      writeFileSync(other, "mine");
      installDatabase(dir, A);
      assert.equal(existsSync(live), true);
      assert.equal(existsSync(other), true);
    });
  });
});

describe("readDatabase", () => {
  test("a missing database", () => {
    withTemp((dir) => {
      const r = readDatabase(dir);
      assert.ok(!r.ok && r.missing);
      assert.match(r.message, /no database is installed .* run 'tend compile' first/);
    });
  });

  test("a damaged, foreign or newer database is not read", () => {
    withTemp((dir) => {
      const path = join(dir, DB_FILE);
      writeFileSync(path, "{ truncated");
      let r = readDatabase(dir);
      assert.ok(!r.ok && !r.missing && r.message.includes("is damaged"), JSON.stringify(r));
      writeFileSync(path, JSON.stringify({ format: "other" }));
      r = readDatabase(dir);
      assert.ok(!r.ok && r.message.includes("is not a tend database"));
      writeFileSync(path, JSON.stringify({ format: DB_FORMAT, version: DB_VERSION + 1 }));
      r = readDatabase(dir);
      assert.ok(!r.ok && r.message.includes(`has format version ${DB_VERSION + 1}`));
    });
  });
});

describe("a crash between writing the new database and renaming it", () => {
  /** Runs installDatabase(dir, set) in a child that SIGKILLs itself just before the rename. */
  function crashingInstall(root: string, dir: string, set: CompiledSet): number {
    const setFile = join(root, "set.json");
    const script = join(root, "crash.mjs");
    writeFileSync(setFile, JSON.stringify(set));
    writeFileSync(
      script,
      [
        `import { readFileSync } from "node:fs";`,
        `import { installDatabase } from ${JSON.stringify(DATABASE_MODULE)};`,
        `const set = JSON.parse(readFileSync(process.argv[3], "utf8"));`,
        `installDatabase(process.argv[2], set, { beforeRename: () => process.kill(process.pid, "SIGKILL") });`,
        `process.stdout.write("the install finished, so the crash hook never ran\\n");`,
        "",
      ].join("\n"),
    );
    const child = spawnSync(process.execPath, [script, dir, setFile], { env: childEnv(), encoding: "utf8", timeout: 20_000 });
    assert.equal(child.error, undefined);
    assert.equal(child.signal, "SIGKILL", `the child was not killed: status ${child.status}\n${child.stdout}\n${child.stderr}`);
    assert.equal(child.stdout, "");
    return child.pid!;
  }

  test("the old database stays installed and readable; the next install cleans up", () => {
    withTemp((root) => {
      const dir = join(root, "state");
      installDatabase(dir, A);
      installDatabase(dir, B);
      const installed = readFileSync(join(dir, DB_FILE), "utf8");

      const pid = crashingInstall(root, dir, C);

      // The new database was written in full beside the old one, and never replaced it.
      const stale = join(dir, `${DB_FILE}.tmp-${pid}`);
      assert.equal(existsSync(stale), true, `expected ${stale} in ${readdirSync(dir).join(", ")}`);
      const written = JSON.parse(readFileSync(stale, "utf8")) as { generation: number; digest: string };
      assert.equal(written.generation, 3);
      assert.equal(written.digest, C.digest);
      assert.equal(readFileSync(join(dir, DB_FILE), "utf8"), installed, "db.json is byte for byte the old one");
      const db = readDatabase(dir);
      assert.ok(db.ok, db.ok ? "" : db.message);
      assert.equal(db.database.generation, 2);
      assert.equal(db.database.digest, B.digest);
      assert.ok(readDatabase(dir, PREVIOUS_DB_FILE).ok, "db.prev.json is readable");

      // The next install removes the dead process's temporary file and installs as usual.
      const r = installDatabase(dir, C);
      assert.equal(r.changed, true);
      assert.equal(r.database.generation, 3);
      assert.equal(existsSync(stale), false, "the stale temporary file is removed");
      assert.deepEqual(readdirSync(dir).sort(), [DB_FILE, PREVIOUS_DB_FILE]);
      assert.equal(generationIn(dir), 3);
      assert.equal(generationIn(dir, PREVIOUS_DB_FILE), 2);
    });
  });

  test("a crash during the very first install leaves no database, and the next install is generation 1", () => {
    withTemp((root) => {
      const dir = join(root, "state");
      const pid = crashingInstall(root, dir, A);
      assert.ok(existsSync(join(dir, `${DB_FILE}.tmp-${pid}`)));
      const missing = readDatabase(dir);
      assert.ok(!missing.ok && missing.missing);
      const r = installDatabase(dir, A);
      assert.equal(r.database.generation, 1);
      assert.deepEqual(readdirSync(dir), [DB_FILE]);
    });
  });
});

test("the database module path the crash child imports exists", () => {
  assert.ok(existsSync(fileURLToPath(DATABASE_MODULE)));
});
