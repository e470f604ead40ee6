// The source directory at boot: a server says when the service files differ from those
// its database was compiled from (by content), and `boot --compile` compiles them
// first, refusing to boot a set that is rejected.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IS_ROOT, withRoot } from "./harness.js";

interface StatusReply {
  generation: number;
  warnings: string[];
}

const SET = {
  web: "type = longrun\ncommand = sleep 1000\n",
  old: "type = longrun\ncommand = sleep 1000\n",
  default: "type = bundle\ncontents = web\n",
};

describe("the service files at boot", () => {
  test("files added, removed or changed since the compile are named in the log and in 'tend status'; an older database without the record is not checked", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services(SET);
      await root.compile();
      root.service("web", "# the same service, another comment\ntype = longrun\ncommand = sleep 1000\n");
      root.removeService("old");
      for (const n of ["x1", "x2", "x3", "x4", "x5"]) root.service(n, "type = longrun\ncommand = sleep 1000\n");
      root.service("notes.swp", "an editor's file is never a service"); // skipped by the compiler: no difference
      const warning = `the service files in ${root.sources} differ from database generation 1, compiled from them: old removed, web changed, x1 added, x2 added, x3 added, and 2 more; run 'tend compile' (or boot with --compile) to use them`;

      let daemon = await root.startDaemon({ boot: true });
      assert.ok(daemon.output().includes(`WARNING: ${warning}`), daemon.output());
      assert.deepEqual((await root.json<StatusReply>("status")).data.warnings, [warning]);
      assert.match((await root.tend("status")).stdout, /^warning: the service files in .* and 2 more;/m);
      await root.shutdown(daemon);

      // A database compiled before tend recorded its sources: nothing to compare with, nothing said.
      const db = join(root.places.state, "db.json");
      const data = JSON.parse(readFileSync(db, "utf8")) as Record<string, unknown>;
      delete data.sources;
      writeFileSync(db, JSON.stringify(data));
      daemon = await root.startDaemon({ boot: true });
      assert.deepEqual((await root.json<StatusReply>("status")).data.warnings, []);
      await root.shutdown(daemon);
    }));

  test("boot --compile: a rejected set is not booted (every diagnostic logged, exit 1); an accepted one is installed and booted", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services(SET);
      await root.compile();
      root.service("web", "type = longrun\ncommand = sleep 1000\nrestart = sometimes\n");
      root.service("api", "type = longrun\nrequires = nothing-here\ncommand = sleep 1000\n");
      const refused = await root.startDaemon({ boot: true, args: ["--compile"], noWait: true });
      assert.deepEqual(await refused.exited, { code: 1, signal: null });
      const log = refused.output();
      assert.match(log, new RegExp(`${join(root.sources, "api")}:2:\\d+: error: .*nothing-here`));
      assert.match(log, new RegExp(`${join(root.sources, "web")}:3:\\d+: error: .*sometimes`));
      assert.match(log, /cannot start: \S+ is rejected \(2 errors\); the installed database is unchanged/);
      assert.equal((JSON.parse(readFileSync(join(root.places.state, "db.json"), "utf8")) as { generation: number }).generation, 1);

      root.service("web", "type = longrun\ncommand = sleep 1000\nrestart = always\n");
      root.service("api", "type = longrun\ncommand = sleep 1000\n");
      root.service("default", "type = bundle\ncontents = web api\n");
      const daemon = await root.startDaemon({ boot: true, args: ["--compile"] });
      assert.match(daemon.output(), /compiled \S+: installed generation 2/);
      await root.waitPhase("api", "up");
      const { data } = await root.json<StatusReply>("status");
      assert.equal(data.generation, 2);
      assert.deepEqual(data.warnings, []);
      await root.shutdown(daemon);
    }));

  test("boot --compile as root is as strict as 'tend compile': a service file others may change is refused", { timeout: 60_000, skip: !IS_ROOT && "strict modes apply to the compiler run as root" }, () =>
    withRoot(async (root) => {
      root.services(SET);
      chmodSync(join(root.sources, "web"), 0o666);
      const refused = await root.startDaemon({ boot: true, args: ["--compile"], noWait: true });
      assert.deepEqual(await refused.exited, { code: 1, signal: null });
      assert.match(refused.output(), new RegExp(`${join(root.sources, "web")}: error: .*writable by (its group and )?others`));
    }));
});
