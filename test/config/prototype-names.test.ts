// Names that Object.prototype already has: `constructor`, `__proto__`, `toString`,
// `hasOwnProperty`, `valueOf`. Wherever a user's name is a key (service files, key
// names, every value that names something, the database, requests to the server), each
// is a name like any other: a clear answer, never a crash, never a name found where
// there is none (src/records.ts).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Database } from "../../src/compile/database.js";
import { createEngine, step, type Engine } from "../../src/engine/engine.js";
import { members } from "../../src/engine/topology.js";
import type { Action, Fact } from "../../src/engine/types.js";
import { envOf, parseEnvFile } from "../../src/supervisor/environment.js";
import { assertOneError, compileFiles, errorsOf, parse, show } from "../helpers.js";
import { withRoot, type TestRoot } from "../server/harness.js";

const NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
/** Those that are valid service names (a service name starts with a letter or a digit). */
const SERVICE_NAMES = NAMES.filter((n) => n !== "__proto__");

const LONGRUN = "type = longrun\ncommand = /bin/true\n";
const task = (...lines: string[]): string => ["type = task", "command = /bin/true", ...lines, ""].join("\n");

/** The database as the server reads it: through JSON, as db.json holds it. */
function database(files: Record<string, string>): Database {
  const r = compileFiles(files);
  assert.ok(r.compiled, show(r.diagnostics));
  return JSON.parse(JSON.stringify({ ...r.compiled, format: "tend-db", version: 1, generation: 1, compiledAt: "" })) as Database;
}

/** Steps a fact; every spawned process becomes ready (or exits 0, for a task) at once. Returns the services spawned. */
function run(e: Engine, fact: Fact, now: number): string[] {
  const spawned: string[] = [];
  const go = (f: Fact): void => {
    for (const a of step(e, { ...f, now }) as Action[]) {
      if (a.kind !== "spawn") continue;
      spawned.push(a.service);
      go({ kind: "spawned", service: a.service, pid: 1000 + spawned.length });
      if (e.defs.get(a.service)?.type === "task") go({ kind: "exited", service: a.service, pid: 1000 + spawned.length, status: { code: 0, signal: null } });
    }
  };
  go(fact);
  return spawned;
}

describe("prototype names in service files", () => {
  for (const name of SERVICE_NAMES) {
    test(`a service named '${name}' compiles, is in the boot plan, and boots`, () => {
      const r = compileFiles({ [name]: LONGRUN, default: `type = bundle\ncontents = ${name}\n` });
      assert.equal(r.accepted, true, show(r.diagnostics));
      assert.deepEqual(r.compiled!.boot, [[name]]);
      assert.ok(Object.hasOwn(r.compiled!.services, name));
      const e = createEngine(database({ [name]: LONGRUN, default: `type = bundle\ncontents = ${name}\n` }), 0);
      // What a name stands for (a status request, `tend enable NAME`): the service, never an inherited member.
      assert.deepEqual(members(e.topo, name), [name]);
      assert.deepEqual(run(e, { kind: "start", names: ["default"] }, 1), [name]);
    });
  }

  test("a file named '__proto__' is refused as a service name, with the rule", () => {
    // (An object literal's `__proto__:` would set its prototype: exactly the trap this file is about.)
    const r = compileFiles(Object.fromEntries([["__proto__", LONGRUN], ["web", LONGRUN]]));
    assertOneError(r.diagnostics, `${r.dir}/__proto__`, "'__proto__' is not a valid service name");
  });

  for (const name of NAMES) {
    test(`a key '${name} = x' is one clear error, not a crash`, () => {
      const { errors } = parse(`${LONGRUN}${name} = x\n`);
      assert.equal(errors.length, 1, show(errors));
      assert.match(errors[0]!.message, /unknown key|not a valid key/);
    });
  }

  test("'limit-constructor' and friends are unknown keys", () => {
    for (const name of NAMES) {
      const { errors } = parse(`${LONGRUN}limit-${name.toLowerCase()} = 1\n`);
      assert.equal(errors.length, 1, show(errors));
      assert.match(errors[0]!.message, /unknown key|not a valid key/);
    }
  });

  for (const name of SERVICE_NAMES) {
    test(`'${name}' named by requires, wants, after, before and contents: unknown, then known`, () => {
      const refs = (target: string) => ({
        a: `${LONGRUN}requires = ${target}\n`,
        w: `${LONGRUN}wants = ${target}\n`,
        b: `${LONGRUN}after = ${target}\n`,
        c: `${LONGRUN}before = ${target}\n`,
        default: `type = bundle\ncontents = a w b c ${target}\n`,
      });
      const unknown = compileFiles(refs(name));
      const errors = errorsOf(unknown.diagnostics);
      assert.equal(errors.length, 3, show(unknown.diagnostics));
      for (const d of errors) assert.ok(d.message.includes(`'${name}', which has no service file`), show(unknown.diagnostics));
      const known = compileFiles({ ...refs(name), [name]: LONGRUN });
      assert.equal(known.accepted, true, show(known.diagnostics));
      assert.deepEqual(known.diagnostics, [], show(known.diagnostics));
      const graph = known.compiled!.graph;
      assert.deepEqual(graph.services.a!.requires, [name]);
      assert.deepEqual(graph.services.w!.wants, [name]);
      assert.deepEqual(graph.services.b!.after, [name]);
      assert.deepEqual(graph.services[name]!.after, ["c"]);
      assert.deepEqual([...graph.bundles.default!].sort(), ["a", "b", "c", name, "w"].sort());
    });
  }

  test("env NAME= with each name sets that variable, and only that one", () => {
    const lines = NAMES.map((n, i) => `env = ${n}=${i}`).join("\n");
    const { parsed, diagnostics } = parse(`${LONGRUN}${lines}\n`);
    assert.deepEqual(diagnostics, [], show(diagnostics)); // no "set again" for names Object.prototype has
    const env = parsed!.def.env;
    assert.deepEqual(Object.keys(env).sort(), [...NAMES].sort());
    assert.equal(env.__proto__, "1");
    // Through the database and back: still five variables.
    const db = database({ web: `${LONGRUN}${lines}\n` });
    assert.deepEqual(Object.entries(db.services.web!.env).sort(), NAMES.map((n, i) => [n, String(i)]).sort());
  });

  test("an env-file's __proto__= and constructor= are variables too", () => {
    const parsed = parseEnvFile("__proto__=a\nconstructor=b\n");
    assert.deepEqual(parsed.errors, []);
    const env = envOf(parsed.assignments);
    assert.deepEqual(Object.entries(env).sort(), [["__proto__", "a"], ["constructor", "b"]]);
  });

  test("event names, match keys, levels and job names in start-on and stop-on", () => {
    for (const name of SERVICE_NAMES) {
      const { parsed, diagnostics } = parse(`${LONGRUN}start-on = ${name} __proto__=x ${name}=y or ${name}=up\nstop-on = stopped ${name}\n`);
      assert.deepEqual(diagnostics, [], show(diagnostics));
      const or = parsed!.def.startOn as { of: { kind: string; match?: Record<string, string> }[] };
      assert.deepEqual(Object.keys(or.of[0]!.match!).sort(), ["__proto__", name].sort());
      assert.deepEqual(parsed!.conditionRefs.map((r) => r.name), [name]);
    }
  });

  test("an event without a key its condition matches does not match (the key is not inherited)", () => {
    const e = createEngine(database({ t: task("start-on = ev constructor=*"), u: task("start-on = ev toString=*") }), 0);
    assert.deepEqual(run(e, { kind: "event", name: "ev", values: {} }, 1), []);
    assert.deepEqual(run(e, { kind: "event", name: "ev", values: JSON.parse('{"constructor":"1"}') as Record<string, string> }, 2), ["t"]);
  });

  test("'instance = constructor': an event without that key makes no instance", () => {
    const e = createEngine(database({ m: task("start-on = ev", "instance = constructor") }), 0);
    assert.deepEqual(run(e, { kind: "event", name: "ev", values: {} }, 1), []);
    assert.deepEqual(run(e, { kind: "event", name: "ev", values: { constructor: "x" } as Record<string, string> }, 2), ["m@x"]);
  });

  test("a level named 'constructor' starts what waits for it", () => {
    const e = createEngine(database({ w: `${LONGRUN}start-on = constructor=up\n` }), 0);
    assert.deepEqual(run(e, { kind: "level", name: "constructor", value: "up" }, 1), ["w"]);
  });
});

/** Runs `tend ARGS`, and asserts that it answered as a command should: no internal error. */
async function answers(root: TestRoot, ...args: string[]): Promise<{ status: number | null; output: string }> {
  const r = await root.tend(...args);
  const output = r.stdout + r.stderr;
  assert.notEqual(r.status, 70, `tend ${args.join(" ")} crashed:\n${output}`);
  assert.ok(!/internal error|TypeError|at .*\.js:\d+/.test(output), `tend ${args.join(" ")}:\n${output}`);
  return { status: r.status, output };
}

describe("prototype names against a running server", { timeout: 120_000 }, () => {
  test("every command that takes a name answers clearly for each; status and the next boot still work", { timeout: 120_000 }, () =>
    withRoot(async (root) => {
      root.services({
        constructor: "type = longrun\ncommand = sleep 1000\n",
        toString: "type = task\ncommand = true\nstart-on = valueOf\n",
        default: "type = bundle\ncontents = constructor\n",
      });
      await root.compile();
      let daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("constructor", "up");
      for (const name of NAMES) {
        const service = name === "constructor" || name === "toString";
        for (const args of [["status", name], ["why", name], ["logs", name], ["signal", name, "CONT"], ["disable", name], ["enable", name], ["stop", name], ["start", name], ["restart", name]]) {
          const r = await answers(root, ...args);
          if (!service) assert.match(r.output, new RegExp(`unknown service: ${name.replace(/[$]/g, "\\$&")}`), `tend ${args.join(" ")}`);
        }
        await answers(root, "emit", name, "constructor=1", "__proto__=2", "toString=3");
        await answers(root, "set", name, "up");
        await answers(root, "unset", name);
      }
      await answers(root, "emit", "valueOf");
      await root.waitPhase("toString", (s) => s.runs >= 1);
      const status = await answers(root, "status");
      assert.equal(status.status, 0, status.output);
      assert.match(status.output, /constructor\s+longrun\s+up/);
      await answers(root, "enable", "constructor");
      await root.shutdown(daemon);

      // The next boot starts what is enabled and in default: 'constructor' is both.
      daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("constructor", "up");
      assert.equal((await answers(root, "status")).status, 0);
      await root.shutdown(daemon);
    }),
  );
});
