// A container whose root filesystem is read-only (`docker run --read-only --tmpfs
// /run`), or run as a user who may not write the image's directories: the database
// compiled into the image is read, and what tend writes goes under the run directory
// for this boot: RUN/state (seeded from the state directory) and RUN/log.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findTool } from "../helpers.js";
import { IS_ROOT, waitFor, withRoot, type TestRoot } from "./harness.js";

interface Moved {
  place: string;
  from: string;
  to: string;
  why: string;
}
interface StatusReply {
  generation: number;
  settings: { places: { state: string; log: string; moved: Moved[] } };
  warnings: string[];
}

const modeOf = (path: string): number => lstatSync(path).mode & 0o7777;
const generationIn = (dir: string): number => (JSON.parse(readFileSync(join(dir, "db.json"), "utf8")) as { generation: number }).generation;

/** Why a private mount namespace cannot be made here, or null. */
function noNamespace(): string | null {
  if (!IS_ROOT) return "needs root: mounts ROOT/var read-only in a private mount namespace";
  if (findTool("unshare") === null || findTool("nsenter") === null) return "needs unshare and nsenter (util-linux)";
  const probe = spawnSync("unshare", ["--mount", "--propagation", "private", "true"], { stdio: "ignore" });
  return probe.status === 0 ? null : "unshare --mount is not permitted here (a container without CAP_SYS_ADMIN)";
}

/** The server's shell prefix: ROOT/var bound read-only onto itself in a mount namespace of its own, then the server. */
const readOnlyVar = (root: TestRoot): string =>
  `exec unshare --mount --propagation private sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' sh '${root.path("var")}' "$0" "$@"`;

describe("a state and log directory tend cannot write", () => {
  test("a read-only /var: the server boots the database compiled there, logs and keeps its state under RUN, and 'tend compile' inside installs into RUN/state", { timeout: 120_000, skip: noNamespace() ?? false }, () =>
    withRoot(async (root) => {
      root.services({
        web: "type = longrun\ncommand = sh -c 'echo hello from web; exec sleep 1000'\n",
        default: "type = bundle\ncontents = web\n",
      });
      await root.compile(); // at build time: /var is writable
      const state = join(root.places.run, "state");
      const log = join(root.places.run, "log");
      const boot = (): ReturnType<TestRoot["startDaemon"]> => root.startDaemon({ boot: true, shellPrefix: readOnlyVar(root) });

      let daemon = await boot();
      await root.waitPhase("web", "up");
      await waitFor("web's line in RUN/log", () => existsSync(join(log, "web", "current")) && readFileSync(join(log, "web", "current"), "utf8").includes("hello from web"));
      assert.equal(existsSync(root.places.log), false, "nothing is made in the read-only /var");
      assert.match(daemon.output(), /the state directory \S+\/var\/lib\/tend is on a read-only file system: using \S+\/run\/tend\/state instead, for this boot only; the log directory/);

      const { data } = await root.json<StatusReply>("status");
      assert.deepEqual(data.settings.places, {
        state,
        log,
        moved: [
          { place: "state", from: root.places.state, to: state, why: "is on a read-only file system" },
          { place: "log", from: root.places.log, to: log, why: `cannot be made (${root.path("var")} is on a read-only file system)` },
        ],
      });
      assert.deepEqual(data.warnings, [], "a moved place is not a warning");
      const text = await root.tend("status");
      assert.match(text.stdout, /^the log directory \S+ cannot be made \(.*\): using \S+\/run\/tend\/log instead, for this boot only$/m);

      // What the server writes goes to RUN/state, seeded with the image's database (0700, 0600).
      assert.equal((await root.tend("enable", "web")).status, 0);
      // timings.json (what `tend analyze` reads) is there too once the boot's record was written.
      const kept = (): string[] => readdirSync(state).filter((f) => f !== "timings.json").sort();
      assert.deepEqual(kept(), ["db.json", "enabled.json"]);
      assert.equal(modeOf(state), 0o700);
      for (const file of readdirSync(state)) assert.equal(modeOf(join(state, file)), 0o600, file);

      // `tend compile` in the container installs where this boot's server reads.
      root.service("api", "type = longrun\ncommand = sleep 1000\n");
      const inside = await root.tendWith({ wrap: ["nsenter", `--target=${daemon.pid}`, "--mount"] }, "compile");
      assert.equal(inside.status, 0, inside.stdout + inside.stderr);
      assert.match(inside.stdout, /^the state directory \S+ is on a read-only file system: using \S+\/run\/tend\/state instead, for this boot only\ninstalled generation 2 in \S+\/run\/tend\/state$/m);
      assert.equal(generationIn(state), 2);
      assert.equal(generationIn(root.places.state), 1, "the image's database is as it was");
      await root.shutdown(daemon);

      // A server started again in this boot keeps what was installed and written during it.
      daemon = await boot();
      const again = await root.json<StatusReply>("status");
      assert.equal(again.data.generation, 2);
      assert.deepEqual(kept(), ["db.json", "db.prev.json", "enabled.json"]);
      assert.ok(readdirSync(state).includes("timings.json"), "the record a clean shutdown wrote is kept in RUN/state");
      await root.shutdown(daemon);
    }));

  test("a state directory its user may not write (0555): the server keeps its state in RUN/state", { timeout: 60_000, skip: IS_ROOT && "runs only as a normal user (root writes whatever the mode)" }, () =>
    withRoot(async (root) => {
      root.services({ web: "type = longrun\ncommand = sleep 1000\n", default: "type = bundle\ncontents = web\n" });
      await root.compile();
      const state = join(root.places.run, "state");
      chmodSync(root.places.state, 0o555);
      try {
        const before = readdirSync(root.places.state);
        const daemon = await root.startDaemon({ boot: true });
        await root.waitPhase("web", "up");
        const { data } = await root.json<StatusReply>("status");
        const uid = process.getuid!();
        assert.deepEqual(data.settings.places.moved, [{ place: "state", from: root.places.state, to: state, why: `is not writable by uid ${uid}` }]);
        assert.equal(data.settings.places.log, root.places.log, "the log directory is writable: it stays");
        root.service("api", "type = longrun\ncommand = sleep 1000\n");
        const compiled = await root.tend("compile");
        assert.match(compiled.stdout, /using \S+\/run\/tend\/state instead, for this boot only\ninstalled generation 2 in /);
        assert.equal(generationIn(state), 2);
        assert.deepEqual(readdirSync(root.places.state), before, "probing it left nothing behind");
        await root.shutdown(daemon);
      } finally {
        chmodSync(root.places.state, 0o700); // for the cleanup
      }
    }));
});
