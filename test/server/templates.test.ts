// Templates by name end to end (issue 12): a template `echo@` whose instances print
// their argument, one required by another service (compiled, started with it at boot),
// one started by name, one enabled by name (with a server, and with none) and started
// by the next boot; the commands that take a name take an instance's; what is not one
// is refused with a hint.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor, withRoot } from "./harness.js";

// `${INSTANCE}` outside the quotes is expanded by tend at the spawn; `$1` inside them is sh's.
const ECHO = `type = longrun\ndescription = echo for \${INSTANCE}\ncommand = sh -c 'echo "hello $1"; exec sleep 1000' sh \${INSTANCE}\n`;

describe("templates by name", () => {
  test("an instance required, started and enabled by name; the next boot starts the enabled one", { timeout: 90_000 }, () =>
    withRoot(async (root) => {
      root.services({
        "echo@": ECHO,
        app: "type = longrun\ncommand = sleep 1000\nrequires = echo@req\n",
        default: "type = bundle\ncontents = app\n",
      });
      const check = await root.tend("check");
      assert.equal(check.status, 0, check.stdout + check.stderr);
      await root.compile();
      let daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("app", "up");
      assert.equal((await root.state("echo@req")).phase, "up", "required by app: compiled, and started before it");
      const logs = (name: string): Promise<string> => root.tend("logs", name).then((r) => r.stdout);
      await waitFor("echo@req's line", async () => (await logs("echo@req")).includes("hello req"));

      const started = await root.tend("start", "echo@tty1");
      assert.equal(started.status, 0, started.stderr);
      const tty1 = await root.state("echo@tty1");
      assert.equal(tty1.phase, "up");
      assert.equal(tty1.description, "echo for tty1");
      await waitFor("echo@tty1's line", async () => (await logs("echo@tty1")).includes("hello tty1"));
      const why = await root.tend("why", "echo@tty1");
      assert.equal(why.status, 0, why.stderr);
      assert.match(why.stdout, /started explicitly/);
      const signalled = await root.tend("signal", "echo@tty1", "CONT");
      assert.equal(signalled.status, 0, signalled.stderr);
      const restarted = await root.tend("restart", "echo@tty1");
      assert.equal(restarted.status, 0, restarted.stderr);
      assert.notEqual((await root.waitPhase("echo@tty1", "up")).pid, tty1.pid);

      // The default listing shows instances, not the template.
      const names = (await root.status()).map((s) => s.name).sort();
      assert.deepEqual(names, ["app", "echo@req", "echo@tty1"]);

      const enabled = await root.tend("enable", "echo@tty2");
      assert.equal(enabled.status, 0, enabled.stderr);
      await root.waitPhase("echo@tty2", "up");
      assert.deepEqual(JSON.parse(readFileSync(join(root.places.state, "enabled.json"), "utf8")), { enabled: ["echo@tty2"], disabled: [] });
      const stopped = await root.tend("stop", "echo@tty1");
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.equal((await root.state("echo@tty1")).phase, "down");
      await root.shutdown(daemon);
      // With no server, enable records an instance by name itself (never the template).
      const offline = await root.tend("enable", "echo@tty3");
      assert.equal(offline.status, 0, offline.stderr);
      const template = await root.tend("enable", "echo@");
      assert.equal(template.status, 1);
      assert.match(template.stderr, /unknown service: echo@/);

      daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("echo@tty3", "up");
      await root.waitPhase("echo@tty2", "up");
      await root.waitPhase("echo@req", "up");
      // Started by name, not enabled: the next server has not made it; its logs are still there.
      const notMade = await root.tend("status", "echo@tty1");
      assert.equal(notMade.status, 3, "down, as systemd's never-started unit is inactive");
      assert.match(notMade.stdout, /not made: no start has named it since the server started/);
      assert.match(await logs("echo@tty1"), /hello tty1/);
      const disabled = await root.tend("disable", "echo@tty2");
      assert.equal(disabled.status, 0, disabled.stderr);
      await root.waitPhase("echo@tty2", "down");
      await root.shutdown(daemon);
    }),
  );

  test("names that are no instance are refused in one line, with a hint", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ "echo@": ECHO, web: "type = longrun\ncommand = sleep 1000\n" });
      await root.compile();
      const daemon = await root.startDaemon();
      const refused = async (args: string[], message: RegExp): Promise<void> => {
        const r = await root.tend(...args);
        assert.equal(r.status, 1, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, message);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      };
      await refused(["start", "ecko@tty1"], /unknown service: ecko@tty1 \(there is no template 'ecko@'; did you mean 'echo@'\?\)/);
      await refused(["start", "echo@"], /'echo@' is a template, which never runs itself: name one of its instances, like 'echo@NAME'/);
      await refused(["start", "echo@../x"], /unknown service: echo@\.\.\/x \('\.\.\/x' is no instance argument/);
      await refused(["start", "echo"], /unknown service: echo \('echo@' is a template: name one of its instances/);
      await refused(["start", "web@x"], /unknown service: web@x \('web' is no template: a template's file name ends in '@'\)/);
      await refused(["why", "echo@tty5"], /'echo@tty5' has not been made/);
      await refused(["signal", "echo@tty5", "HUP"], /echo@tty5 has no running process \(it is down\)/);
      // Stopping an instance never made is no error: it is down.
      const stop = await root.tend("stop", "echo@tty5");
      assert.equal(stop.status, 0, stop.stderr);
      await root.shutdown(daemon);
    }),
  );
});
