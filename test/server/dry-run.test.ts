// `--dry-run` of start, stop, restart, enable and disable against a real server: it
// answers what would change (the engine's preview) and nothing changes — no process
// started or stopped, enabled.json untouched; `--json` gives it as data.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DryRun } from "../../src/server/protocol.js";
import { withRoot } from "./harness.js";

const NOTHING = { dryRun: true, start: [], stop: [], restart: [], enablement: [] };

describe("--dry-run of the service commands", () => {
  test("says what would start, stop, restart, and what the next boot would bring up; changes nothing", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        default: "type = bundle\ncontents = web\n",
        db: "type = longrun\ncommand = sleep 1000\n",
        web: "type = longrun\ncommand = sleep 1000\nrequires = db\n",
        cache: "type = longrun\ncommand = sleep 1000\n",
      });
      await root.compile();
      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("web", "up");
      const dry = async (...args: string[]): Promise<DryRun> => {
        const { run, data } = await root.json<DryRun>(...args, "--dry-run");
        assert.equal(run.status, 0, run.stderr);
        return data;
      };
      const pids = async () => (await root.status()).map((s) => `${s.name} ${s.phase} ${s.pid}`);
      const before = await pids();

      assert.deepEqual(await dry("start", "cache"), { ...NOTHING, start: ["cache"] });
      assert.deepEqual(await dry("start", "web"), NOTHING);
      assert.deepEqual(await dry("stop", "db"), { ...NOTHING, stop: ["db", "web"] });
      assert.deepEqual(await dry("stop", "cache"), NOTHING);
      assert.deepEqual(await dry("restart", "db"), { ...NOTHING, restart: ["db", "web"] });
      assert.deepEqual(await dry("enable", "cache"), { ...NOTHING, start: ["cache"], enablement: [{ name: "cache", from: "manual", to: "enabled" }] });
      assert.deepEqual(await dry("enable", "web"), NOTHING);
      assert.deepEqual(await dry("disable", "web"), { ...NOTHING, stop: ["db", "web"], enablement: [{ name: "web", from: "enabled", to: "disabled" }] });

      // Nothing changed: the same processes, nothing recorded.
      assert.deepEqual(await pids(), before);
      assert.equal(existsSync(join(root.places.state, "enabled.json")), false);

      // The text says it too; a bad name is the command's own error.
      const text = await root.tend("restart", "--dry-run", "db");
      assert.equal(text.status, 0, text.stderr);
      assert.equal(text.stdout, "would restart: db, web\ndry run: nothing was changed\n");
      const none = await root.tend("stop", "--dry-run", "cache");
      assert.equal(none.stdout, "stop cache: nothing would change\ndry run: nothing was changed\n");
      const unknown = await root.tend("start", "--dry-run", "nosuch");
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /nosuch/);

      // Once done for real, the dry run says there is nothing left to do.
      assert.equal((await root.tend("enable", "cache")).status, 0);
      await root.waitPhase("cache", "up");
      assert.deepEqual(await dry("enable", "cache"), NOTHING);
      assert.deepEqual(await dry("start", "cache"), NOTHING);
      assert.deepEqual(JSON.parse(readFileSync(join(root.places.state, "enabled.json"), "utf8")), { enabled: ["cache"], disabled: [] });
      await root.shutdown(daemon);
    }),
  );
});
