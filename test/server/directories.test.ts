// runtime-directory, state-directory, cache-directory, logs-directory: made by the
// server before the service's first process, whatever its umask, owned by the
// service's user with their mode; named in its environment; the runtime ones removed
// once it is down but kept across an automatic restart; nothing followed on the way.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { IS_ROOT, waitFor, withRoot, type ChangeResult } from "./harness.js";

const mode = (path: string): number => lstatSync(path).mode & 0o7777;
const owner = (path: string): [number, number] => {
  const st = lstatSync(path);
  return [st.uid, st.gid];
};

describe("service directories", () => {
  test("made before pre-start, as the service's user with their modes whatever the umask; runtime ones gone after the stop", { timeout: 60_000, skip: !IS_ROOT && "needs root: gives the directories to nobody" }, () =>
    withRoot(async (root) => {
      const [, , uidText, gidText] = execFileSync("getent", ["passwd", "nobody"], { encoding: "utf8" }).split(":");
      const nobody: [number, number] = [Number(uidText), Number(gidText)];
      chmodSync(root.dir, 0o755); // nobody must reach its directories through the (0700) temporary root
      root.service(
        "svc",
        [
          "type = longrun",
          // pre-start runs as nobody: it can write there only if the directory is made, and is nobody's, first.
          `pre-start = sh -c 'touch "\${RUNTIME_DIRECTORY%%:*}/pre"'`,
          `command = sh -c 'echo "$RUNTIME_DIRECTORY $STATE_DIRECTORY $CACHE_DIRECTORY $LOGS_DIRECTORY" > "$STATE_DIRECTORY/vars"; echo >&3; exec sleep 1000'`,
          "ready = fd",
          "user = nobody",
          "runtime-directory = sshd deep/inner",
          "runtime-directory-mode = 0750",
          "state-directory = svc",
          "state-directory-mode = 700",
          "cache-directory = svc",
          "logs-directory = svc/sub",
          "",
        ].join("\n"),
      );
      await root.compile();
      // A umask that would leave every directory 0700: the modes must not depend on it.
      const daemon = await root.startDaemon({ shellPrefix: "umask 077" });
      const { run, data } = await root.json<ChangeResult>("start", "svc");
      assert.equal(run.status, 0, run.stdout + run.stderr + daemon.output());
      assert.deepEqual(data.failed, []);
      const d = root.places.directories;
      const paths = [`${d.runtime}/sshd`, `${d.runtime}/deep/inner`, `${d.state}/svc`, `${d.cache}/svc`, `${d.logs}/svc/sub`] as const;
      await waitFor("the service's report", () => existsSync(`${d.state}/svc/vars`));
      assert.equal(readFileSync(`${d.state}/svc/vars`, "utf8").trim(), `${paths[0]}:${paths[1]} ${paths[2]} ${paths[3]} ${paths[4]}`);
      for (const [path, expected] of [[paths[0], 0o750], [paths[1], 0o750], [paths[2], 0o700], [paths[3], 0o755], [paths[4], 0o755]] as const) {
        assert.deepEqual(owner(path), nobody, `${path}'s owner`);
        assert.equal(mode(path), expected, `${path}'s mode`);
      }
      // What is on the way is root's, 0755, made whatever the umask too.
      for (const path of [`${d.runtime}/deep`, `${d.logs}/svc`, d.cache]) {
        assert.deepEqual(owner(path), [0, 0], `${path}'s owner`);
        assert.equal(mode(path), 0o755, `${path}'s mode`);
      }
      assert.deepEqual(owner(`${paths[0]}/pre`), nobody, "pre-start wrote into its runtime directory");

      const stop = await root.tend("stop", "svc");
      assert.equal(stop.status, 0, stop.stdout + stop.stderr);
      await waitFor("the runtime directories to go", () => !existsSync(paths[0]) && !existsSync(paths[1]));
      assert.ok(existsSync(`${d.runtime}/deep`), "only the innermost directory of a runtime name goes");
      for (const path of paths.slice(2)) assert.ok(existsSync(path), `${path} stays`);
      assert.ok(existsSync(`${d.state}/svc/vars`), "the state directory keeps what is in it");

      // Made again at the next start; an existing one given back to its owner and mode.
      chownSync(paths[2], 0, 0);
      chmodSync(paths[2], 0o777);
      assert.equal((await root.tend("start", "svc")).status, 0);
      assert.deepEqual(owner(paths[2]), nobody);
      assert.equal(mode(paths[2]), 0o700);
      assert.ok(existsSync(paths[0]));
      await root.shutdown(daemon);
      assert.ok(!existsSync(paths[0]), "a shutdown removes the runtime directories too");
    }),
  );

  test("as the server's own user, they are its; an automatic restart keeps the runtime one", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      // The first run leaves a mark and crashes; the restart finds the mark (its directory was kept) and stays up.
      root.service(
        "flaky",
        [
          "type = longrun",
          `command = sh -c 'if [ -e "$RUNTIME_DIRECTORY/mark" ]; then echo >&3; exec sleep 1000; fi; touch "$RUNTIME_DIRECTORY/mark"; exit 1'`,
          "ready = fd",
          "restart = on-failure",
          "runtime-directory = flaky",
          "",
        ].join("\n"),
      );
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "flaky")).status, 0);
      const up = await root.waitPhase("flaky", "up");
      assert.equal(up.restarts, 1, "restarted once, and found its directory as it left it");
      const dir = `${root.places.directories.runtime}/flaky`;
      assert.deepEqual(owner(dir), [process.getuid!(), process.getgid!()]);
      assert.equal(mode(dir), 0o755);
      assert.equal((await root.tend("stop", "flaky")).status, 0);
      await waitFor("the runtime directory to go", () => !existsSync(dir));
      await root.shutdown(daemon);
    }),
  );

  test("a symbolic link or a file in the way fails the start, and nothing is followed", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const d = root.places.directories;
      const target = root.path("target");
      mkdirSync(target, { mode: 0o700 });
      mkdirSync(d.runtime, { recursive: true });
      mkdirSync(d.state, { recursive: true });
      symlinkSync(target, `${d.runtime}/link`);
      writeFileSync(`${d.state}/file`, "");
      root.services({
        leaf: "type = longrun\ncommand = sleep 1000\nrestart = never\nruntime-directory = link\n",
        through: "type = longrun\ncommand = sleep 1000\nrestart = never\nruntime-directory = link/inner\n",
        file: "type = longrun\ncommand = sleep 1000\nrestart = never\nstate-directory = file\n",
      });
      await root.compile();
      const daemon = await root.startDaemon();
      for (const [name, why] of [
        ["leaf", `${d.runtime}/link is a symbolic link`],
        ["through", `${d.runtime}/link is a symbolic link`],
        ["file", `${d.state}/file is not a directory`],
      ] as const) {
        const { run, data } = await root.json<ChangeResult>("start", name);
        assert.equal(run.status, 1, `${name} started: ${run.stdout}`);
        assert.ok(data.services[0]!.reason?.includes(why), `${name}: ${data.services[0]!.reason}`);
      }
      assert.equal(mode(target), 0o700, "the link's target was not touched");
      assert.ok(!existsSync(`${target}/inner`), "nothing was made through the link");
      assert.ok(lstatSync(`${d.runtime}/link`).isSymbolicLink(), "the link is left as it is");
      await root.shutdown(daemon);
    }),
  );

  test("as root, a directory on the way that another user owns is refused", { timeout: 60_000, skip: !IS_ROOT && "needs root: makes a directory nobody's" }, () =>
    withRoot(async (root) => {
      const d = root.places.directories;
      mkdirSync(`${d.runtime}/theirs`, { recursive: true });
      chownSync(`${d.runtime}/theirs`, 65534, 65534);
      root.service("s", "type = longrun\ncommand = sleep 1000\nrestart = never\nruntime-directory = theirs/mine\n");
      await root.compile();
      const daemon = await root.startDaemon();
      const { run, data } = await root.json<ChangeResult>("start", "s");
      assert.equal(run.status, 1);
      assert.match(data.services[0]!.reason ?? "", /theirs \(on the way\) is owned by uid 65534 .*must be root's alone/);
      await root.shutdown(daemon);
    }),
  );
});
