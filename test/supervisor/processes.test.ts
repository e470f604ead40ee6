// The supervisor's `processesOf` against a real keeper: the pids of a service's tree
// (its main process first, a forked child included, another service's not), answers
// to several questions at once each to its own caller, and no caller left waiting once
// the keeper is gone.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Fact } from "../../src/engine/types.js";
import { openSupervisor, type Supervisor } from "../../src/supervisor/supervisor.js";
import { parse, show } from "../helpers.js";
import { waitFor } from "../server/harness.js";
import type { ServiceDef } from "../../src/config/service.js";

function service(command: string): ServiceDef {
  const { parsed, diagnostics } = parse(`type = longrun\ncommand = ${command}\n`);
  assert.ok(parsed !== null, show(diagnostics));
  return parsed.def;
}

async function withSupervisor(body: (s: Supervisor, facts: Fact[], dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tend-supervisor-"));
  const facts: Fact[] = [];
  const lines: string[] = [];
  let supervisor: Supervisor | null = null;
  try {
    supervisor = await openSupervisor({
      logDir: join(dir, "log"),
      runDir: dir,
      directories: { runtime: join(dir, "run"), state: join(dir, "lib"), cache: join(dir, "cache"), logs: join(dir, "logs") },
      defaults: () => ({}),
      tracking: process.env.TEND_TRACKING === "fallback" ? "fallback" : "auto",
      now: () => Date.now(),
      emit: (fact) => void facts.push(fact),
      report: (service, text) => void lines.push(`${service}: ${text}`),
      shown: () => {},
      log: (line) => void lines.push(line),
      warn: (line) => void lines.push(`WARNING: ${line}`),
      syslog: null,
      terminate: () => {},
      hangup: () => {},
      lost: (why) => void lines.push(`lost: ${why}`),
      console: { serviceLogs: "files", format: "text", stopGraceMs: 2000 },
    });
    await body(supervisor, facts, dir);
  } finally {
    if (supervisor !== null) {
      for (const name of ["tree", "other"]) supervisor.perform({ kind: "kill", service: name }, service("true"));
      await supervisor.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const spawnedPid = (facts: Fact[], name: string): Promise<number> =>
  waitFor(`${name} to be spawned`, () => facts.find((f): f is Extract<Fact, { kind: "spawned" }> => f.kind === "spawned" && f.service === name)?.pid);

describe("processesOf", () => {
  test("the service's tree, its main process first; several questions answered each to its caller", { timeout: 30_000 }, () =>
    withSupervisor(async (s, facts, dir) => {
      const childPid = join(dir, "child.pid");
      const tree = service(`sh -c 'sleep 1000 & echo $! > ${childPid}; exec sleep 1000'`);
      s.perform({ kind: "spawn", service: "tree", role: "main", env: null }, tree);
      s.perform({ kind: "spawn", service: "other", role: "main", env: null }, service("sleep 1000"));
      const main = await spawnedPid(facts, "tree");
      const other = await spawnedPid(facts, "other");
      const child = Number(await waitFor("the child's pid", () => existsSync(childPid) && readFileSync(childPid, "utf8").trim()));
      const [a, b, c, none] = await Promise.all([s.processesOf("tree"), s.processesOf("other"), s.processesOf("tree"), s.processesOf("never-started")]);
      assert.deepEqual(a, { pids: [main, child], total: 2 });
      assert.deepEqual(c, a);
      assert.deepEqual(b, { pids: [other], total: 1 });
      assert.deepEqual(none, { pids: [], total: 0 });
    }),
  );

  test("asked once the keeper is gone: no processes, at once", { timeout: 30_000 }, () =>
    withSupervisor(async (s) => {
      await s.close();
      assert.deepEqual(await s.processesOf("tree"), { pids: [], total: 0 });
    }),
  );
});
