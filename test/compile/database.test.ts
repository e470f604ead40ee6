// Installing the compiled database: generations, the kept previous database, no-op
// reinstalls, and a real crash (SIGKILL) between writing the new file and renaming it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DB_FILE,
  DB_FORMAT,
  DB_VERSION,
  PREVIOUS_DB_FILE,
  installDatabase,
  loadDatabase,
  readDatabase,
  type CompiledSet,
} from "../../src/compile/database.js";
import { expandArgv } from "../../src/config/argv.js";
import { diffDatabases } from "../../src/engine/diff.js";
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

describe("the shape of a database read from disk", () => {
  /** The installed A as parsed JSON, to damage. */
  const installedA = (dir: string): Record<string, unknown> => {
    installDatabase(dir, A);
    return JSON.parse(readFileSync(join(dir, DB_FILE), "utf8")) as Record<string, unknown>;
  };
  const readWith = (dir: string, data: unknown) => {
    writeFileSync(join(dir, DB_FILE), JSON.stringify(data));
    return readDatabase(dir);
  };

  test("a field of the wrong type is refused with where it is, whatever the field", () => {
    withTemp((dir) => {
      const good = installedA(dir);
      const web = (good.services as Record<string, Record<string, unknown>>).web!;
      assert.ok(!Object.hasOwn(web, "nosuch"));
      let refused = 0;
      // Every field of a service, given each wrong kind of value: never a throw; each a located refusal or a fitting value.
      for (const key of Object.keys(web)) {
        for (const wrong of ["s", 42, -1, null, {}, [], [1], true, { kind: "nosuch" }]) {
          const data = structuredClone(good) as { services: Record<string, Record<string, unknown>> };
          data.services.web![key] = wrong;
          const r = readWith(dir, data);
          if (!r.ok) {
            refused++;
            assert.match(r.message, new RegExp(`is damaged \\(services\\.web\\.${key}\\b`), `${key} = ${JSON.stringify(wrong)}`);
          }
        }
      }
      assert.ok(refused > Object.keys(web).length * 5, `only ${refused} refused`);
      const data = structuredClone(good) as { services: Record<string, Record<string, unknown>> };
      data.services.web!.command = "sleep 1000";
      const r = readWith(dir, data);
      assert.ok(!r.ok && r.message.includes("services.web.command must be a list"), JSON.stringify(r));
    });
  });

  test("the graph and the boot waves must name the services of the database", () => {
    withTemp((dir) => {
      const good = installedA(dir) as { graph: { services: Record<string, { requires: string[] }>; bundles: Record<string, string[]> }; boot: string[][] };
      const cases: [string, (d: typeof good) => void, RegExp][] = [
        ["a requirement on no service", (d) => d.graph.services.web!.requires.push("ghost"), /graph\.services\.web\.requires\[0\] must name a service/],
        ["a bundle as a member", (d) => d.graph.bundles.default!.push("default"), /graph\.bundles\.default\[1\] must name a service/],
        ["edges missing", (d) => delete (d.graph.services as Record<string, unknown>).web, /graph\.services has no edges for web/],
        ["a boot wave of a bundle", (d) => d.boot.push(["default"]), /boot\[\d\]\[0\] must name a service/],
      ];
      for (const [what, damage, expected] of cases) {
        const data = structuredClone(good);
        damage(data);
        const r = readWith(dir, data);
        assert.ok(!r.ok, what);
        assert.match(r.message, expected, what);
      }
    });
  });

  test("a database compiled before pass-env and allow existed reads with none of either, and means what today's does", () => {
    withTemp((dir) => {
      const old = installedA(dir) as { services: Record<string, Record<string, unknown>> };
      for (const def of Object.values(old.services)) {
        delete def.passEnv;
        delete def.allow;
      }
      const r = readWith(dir, old);
      assert.ok(r.ok, r.ok ? "" : r.message);
      assert.deepEqual(r.database.services.web!.passEnv, []);
      assert.deepEqual(r.database.services.web!.allow, []);
      // An apply from it to the same files compiled today changes nothing: nothing restarts.
      assert.deepEqual(diffDatabases(r.database, A), { added: [], removed: [], changed: [] });
    });
  });

  test("a database compiled before variables existed means its '$' literally; command words and directories must be as the compiler writes them", () => {
    withTemp((dir) => {
      const good = installedA(dir) as { services: Record<string, Record<string, unknown>> };
      const old = structuredClone(good);
      delete old.services.web!.directories;
      old.services.web!.command = ["sh", "-c", "echo $HOME ${X} $$", "$1"];
      old.services.web!.ready = { kind: "exec", argv: ["/bin/$x"] };
      const r = readWith(dir, old);
      assert.ok(r.ok, r.ok ? "" : r.message);
      const web = r.database.services.web!;
      assert.deepEqual(web.directories, {});
      assert.deepEqual(web.command, ["sh", "-c", "echo $$HOME $${X} $$$$", "$$1"]);
      assert.deepEqual(expandArgv(web.command!, { HOME: "h", X: "x" }), ["sh", "-c", "echo $HOME ${X} $$", "$1"]);
      assert.deepEqual(web.ready, { kind: "exec", argv: ["/bin/$$x"] });

      const cases: [string, unknown, RegExp][] = [
        ["command", ["$PROG", "-x"], /services\.web\.command must name a program, not a variable/],
        ["command", ["sh", "a$b"], /services\.web\.command\[1\] must be a word as the compiler writes it/],
        ["directories", { runtime: { names: ["/abs"], mode: 0o755 } }, /services\.web\.directories\.runtime\.names\[0\] must be a relative path/],
        ["directories", { runtime: { names: ["a/../b"], mode: 0o755 } }, /services\.web\.directories\.runtime\.names\[0\]/],
        ["directories", { state: { names: [], mode: 0o755 } }, /services\.web\.directories\.state\.names must name a directory/],
        ["directories", { state: { names: ["x"], mode: 0o10000 } }, /services\.web\.directories\.state\.mode must be a whole number/],
        ["directories", { temp: { names: ["x"], mode: 0o755 } }, /services\.web\.directories\.temp is not one of runtime, state, cache, logs/],
      ];
      for (const [key, value, expected] of cases) {
        const data = structuredClone(good);
        data.services.web![key] = value;
        const bad = readWith(dir, data);
        assert.ok(!bad.ok && expected.test(bad.message), `${key} = ${JSON.stringify(value)}: ${JSON.stringify(bad)}`);
      }
    });
  });

  test("a pass-env entry that is neither a name nor a pattern is refused", () => {
    withTemp((dir) => {
      for (const wrong of ["", "A-B", "*A", "A**", 1]) {
        const data = structuredClone(installedA(dir)) as { services: Record<string, Record<string, unknown>> };
        data.services.web!.passEnv = ["HOME", wrong];
        const r = readWith(dir, data);
        assert.ok(!r.ok && r.message.includes("services.web.passEnv[1] must be"), `${JSON.stringify(wrong)}: ${JSON.stringify(r)}`);
      }
    });
  });

  test("the record of the source files: a sha256 per service file; absent in a database compiled before it was kept", () => {
    withTemp((dir) => {
      const good = installedA(dir) as { sources?: Record<string, string> };
      assert.deepEqual(Object.keys(good.sources!).sort(), ["default", "web"]);
      const cases: [string, (d: typeof good) => void, RegExp | null][] = [
        ["no record", (d) => delete d.sources, null],
        ["a digest that is not one", (d) => (d.sources!.web = "abc"), /sources\.web must be a sha256 in hex/],
        ["a name that is not a service file's", (d) => (d.sources!["../x"] = "0".repeat(64)), /sources\["\.\.\/x"\] is not a valid name/],
      ];
      for (const [what, change, refused] of cases) {
        const data = structuredClone(good);
        change(data);
        const r = readWith(dir, data);
        if (refused === null) assert.ok(r.ok && r.database.sources === undefined, what);
        else assert.ok(!r.ok && refused.test(r.message), `${what}: ${JSON.stringify(r)}`);
      }
    });
  });

  test("names a user chose are keys without a prototype: a service named constructor, an env key __proto__", () => {
    withTemp((dir) => {
      const r = compileFiles({
        constructor: "type = longrun\ncommand = /bin/true\n",
        default: "type = bundle\ncontents = constructor\n",
      });
      assert.equal(r.accepted, true, show(r.diagnostics));
      installDatabase(dir, r.compiled!);
      // Written as JSON holds them: own keys named like Object.prototype's members.
      const path = join(dir, DB_FILE);
      writeFileSync(path, readFileSync(path, "utf8").replace('"env":{}', '"env":{"__proto__":"x","toString":"y"}'));
      const db = readDatabase(dir);
      assert.ok(db.ok, db.ok ? "" : db.message);
      const name: string = "constructor";
      assert.equal(Object.getPrototypeOf(db.database.services), null);
      assert.equal(Object.getPrototypeOf(db.database.graph.bundles), null);
      assert.equal(db.database.services[name]!.name, "constructor");
      assert.equal("toString" in db.database.graph.services, false);
      const env = db.database.services[name]!.env;
      assert.equal(Object.getPrototypeOf(env), null);
      assert.deepEqual(Object.entries(env), [["__proto__", "x"], ["toString", "y"]]);
    });
  });
});

describe("loadDatabase: the database a server boots", () => {
  test("the installed one; the previous one with a warning when it is damaged; a clear error when both are", () => {
    withTemp((dir) => {
      installDatabase(dir, A);
      installDatabase(dir, B);
      let r = loadDatabase(dir);
      assert.ok(r.ok && r.warning === null && r.database.generation === 2);
      writeFileSync(join(dir, DB_FILE), readFileSync(join(dir, DB_FILE), "utf8").slice(0, 100));
      r = loadDatabase(dir);
      assert.ok(r.ok && r.database.generation === 1, JSON.stringify(r));
      assert.match(r.warning!, /db\.json is damaged \(.*\): running the previous database, .*db\.prev\.json \(generation 1\); run 'tend compile' to install a new one$/);
      writeFileSync(join(dir, PREVIOUS_DB_FILE), "[]");
      r = loadDatabase(dir);
      assert.ok(!r.ok);
      assert.match(r.message, /^no database can be booted: .*db\.json is damaged \(.*\), and .*db\.prev\.json is not a tend database; run 'tend compile' to install a new database$/);
      // A new install after a damaged one counts on from the previous generation.
      const installed = installDatabase(dir, C);
      assert.equal(installed.database.generation, 1, "db.prev.json is unreadable too: counting starts again");
    });
  });

  test("a new install over a damaged db.json counts on from db.prev.json", () => {
    withTemp((dir) => {
      installDatabase(dir, A);
      installDatabase(dir, B);
      writeFileSync(join(dir, DB_FILE), "{");
      assert.equal(installDatabase(dir, C).database.generation, 3);
    });
  });

  test("the database files are 0600 in a 0700 directory whatever the umask", () => {
    withTemp((root) => {
      const dir = join(root, "var/lib/tend");
      const old = process.umask(0);
      try {
        installDatabase(dir, A);
        installDatabase(dir, B);
      } finally {
        process.umask(old);
      }
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(statSync(join(root, "var")).mode & 0o777, 0o755);
      for (const file of [DB_FILE, PREVIOUS_DB_FILE]) assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
      // Left 0644 by an older tend: the server's load tightens them.
      for (const file of [DB_FILE, PREVIOUS_DB_FILE]) chmodSync(join(dir, file), 0o644);
      assert.ok(loadDatabase(dir).ok);
      for (const file of [DB_FILE, PREVIOUS_DB_FILE]) assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
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
