// Variables in commands expanded by a real spawn, from an env-file as Debian ships
// them and from tend.env, the environment every service starts from: read again
// when it changes, a bad line left out and reported, a file others may write not used.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { waitFor, withRoot, type TestRoot } from "./harness.js";

/** The lines a service wrote to `file`, empty ones included (an empty argument is one). */
const linesOf = (path: string): string[] => readFileSync(path, "utf8").replace(/\n$/, "").split("\n");

/** A longrun that writes `what` (sh, in double quotes) to FILE and is then ready. */
const writer = (root: TestRoot, file: string, what: string, extra = ""): string =>
  `type = longrun\ncommand = sh -c 'echo "${what}" > ${root.path(file)}; echo >&3; exec sleep 1000'\nready = fd\n${extra}`;

describe("variables in commands", () => {
  test("from an env-file like /etc/default/ssh: a lone $VAR splits, ${VAR} and \"$VAR\" do not, an unset one is gone; ready = exec expands too", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const defaults = root.file(
        "default-ssh",
        "# Default settings for openssh-server. This file is sourced by /bin/sh from\n# /etc/init.d/ssh.\n\n# Options to pass to sshd\nSSHD_OPTS=\"-a -b\"\n",
      );
      const out = root.path("argv");
      root.services({
        sshd: [
          "type = longrun",
          // sh prints its arguments one a line: the words tend gave it after the script and $0.
          `command = sh -c 'printf "%s\\n" "$@" > ${out}; echo >&3; exec sleep 1000' sh $SSHD_OPTS "\${SSHD_OPTS}" --opt=$SSHD_OPTS $UNSET "$UNSET" $$HOME \\$X 'single $SSHD_OPTS'`,
          "ready = fd",
          `env-file = ${defaults}`,
          "",
        ].join("\n"),
        probe: [
          "type = longrun",
          `command = sh -c 'sleep 0.2; touch "$RUNTIME_DIRECTORY/ready"; exec sleep 1000'`,
          "ready = exec:test -e ${RUNTIME_DIRECTORY}/ready",
          "runtime-directory = probe",
          "",
        ].join("\n"),
      });
      await root.compile();
      const daemon = await root.startDaemon();
      for (const name of ["sshd", "probe"]) {
        const start = await root.tend("start", name);
        assert.equal(start.status, 0, start.stdout + start.stderr + daemon.output());
      }
      assert.deepEqual(linesOf(out), ["-a", "-b", "-a -b", "--opt=-a -b", "", "$HOME", "$X", "single $SSHD_OPTS"]);
      assert.equal((await root.state("probe")).phase, "up");
      await root.shutdown(daemon);
    }),
  );

  test("tend.env: every service starts from it, under its own settings; edits take effect at the next start; a bad line is left out and reported", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const file = root.path("etc/tend.env");
      writeFileSync(file, "# for every service\nGREETING=from tend.env\nexport LANG='C.UTF-8'\nthis is not a line\nHOME=/elsewhere\n", { mode: 0o644 });
      root.services({
        plain: writer(root, "plain.out", "$GREETING|$LANG|$HOME"),
        own: writer(root, "own.out", "$GREETING|$LANG", "env = GREETING=its own\n"),
        // The file's variables are there for a command's variables too.
        words: `type = longrun\ncommand = sh -c 'echo "$1" > ${root.path("words.out")}; echo >&3; exec sleep 1000' sh \${GREETING}\nready = fd\n`,
      });
      await root.compile();
      const daemon = await root.startDaemon();
      for (const name of ["plain", "own", "words"]) assert.equal((await root.tend("start", name)).status, 0);
      const home = userInfo().homedir;
      assert.equal(readFileSync(root.path("plain.out"), "utf8").trim(), `from tend.env|C.UTF-8|${home}`);
      assert.equal(readFileSync(root.path("own.out"), "utf8").trim(), "its own|C.UTF-8");
      assert.equal(readFileSync(root.path("words.out"), "utf8").trim(), "from tend.env");
      const warnings = async (): Promise<string[]> => {
        const reply = await root.request({ cmd: "status" });
        assert.ok(reply.ok);
        return reply.result.warnings ?? [];
      };
      assert.deepEqual(await warnings(), [
        `${file}:4: error: expected NAME=VALUE; that line is left out`,
        `${file}:5: error: 'HOME' is set for each service from its user; that line is left out`,
      ]);
      assert.match(daemon.output(), /tend\.env:4: error: expected NAME=VALUE/);

      writeFileSync(file, "GREETING=edited\n");
      assert.equal((await root.tend("restart", "plain")).status, 0);
      await waitFor("the restarted service's report", () => readFileSync(root.path("plain.out"), "utf8").startsWith("edited"));
      assert.equal(readFileSync(root.path("plain.out"), "utf8").trim(), `edited||${home}`);
      assert.deepEqual(await warnings(), [], "a fixed file is no longer reported");

      // Writable by others: not used at all.
      chmodSync(file, 0o666);
      assert.equal((await root.tend("restart", "plain")).status, 0);
      await waitFor("the restarted service's report", () => readFileSync(root.path("plain.out"), "utf8").startsWith("|"));
      const [problem] = await warnings();
      assert.match(problem ?? "", /tend\.env: error: owned by uid \d+ with mode 0666: it must be owned by uid \d+ and writable by no one else; not used/);
      assert.ok(existsSync(file));
      await root.shutdown(daemon);
    }),
  );
});
