// A start that cannot be prepared (a bad env-file, a user database that does not
// answer, a log directory that is a file) makes the service failed with the reason,
// the server keeps answering, and `tend shutdown` completes.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_FRAME_FIELDS, MAX_SERVICE_NAME_BYTES } from "../../src/keeper/protocol.js";
import { LOOKUP_TIMEOUT_MS } from "../../src/supervisor/accounts.js";
import { MAX_ENV_FILE_BYTES } from "../../src/supervisor/environment.js";
import { IS_ROOT, withRoot } from "./harness.js";

const LONGRUN = "type = longrun\ncommand = sleep 1000\nrestart = never\n";

describe("a start that cannot be prepared", { concurrency: true }, () => {
  test("env-files that are a FIFO, a device, a directory, too large or too many fail the start; the server goes on", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const fifo = root.path("fifo.env");
      execFileSync("mkfifo", [fifo]);
      mkdirSync(root.path("dir.env"));
      writeFileSync(root.path("big.env"), `A=${"x".repeat(MAX_ENV_FILE_BYTES)}\n`);
      const bad: Record<string, [string, RegExp]> = {
        fifo: [fifo, /not a regular file \(a FIFO\)/],
        // optional, and still not skipped: it exists, it is not missing
        zero: ["-/dev/zero", /not a regular file \(a device\)/],
        dir: [root.path("dir.env"), /not a regular file \(a directory\)/],
        big: [root.path("big.env"), new RegExp(`larger than ${MAX_ENV_FILE_BYTES} bytes`)],
      };
      for (const [name, [file]] of Object.entries(bad)) root.service(name, `${LONGRUN}env-file = ${file}\n`);
      root.service("fine", `${LONGRUN}env-file = -${root.path("missing.env")}\n`);
      // Within the size limit, but more variables than a keeper message has fields for.
      const lines = Array.from({ length: MAX_FRAME_FIELDS }, (_, i) => `V${i}=1`).join("\n");
      root.service("many", `${LONGRUN}env-file = ${root.file("many.env", `${lines}\n`)}\n`);
      // --portable: strict modes refuse /dev/zero (0666) at compile time already; what is
      // checked here is the start, for files that became bad after the compile.
      const compiled = await root.tend("compile", "--portable");
      assert.equal(compiled.status, 0, compiled.stdout + compiled.stderr);
      const daemon = await root.startDaemon();
      const start = await root.tend("start", ...Object.keys(bad), "fine", "many");
      assert.equal(start.status, 1, start.stdout + start.stderr);
      for (const [name, [file, why]] of Object.entries(bad)) {
        const s = await root.state(name);
        assert.equal(s.phase, "failed", `${name}: ${JSON.stringify(s)}`);
        assert.match(s.reason ?? "", new RegExp(`cannot start: cannot read env-file ${file.replace(/^-/, "").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: `));
        assert.match(s.reason ?? "", why);
      }
      assert.equal((await root.state("fine")).phase, "up", "a missing optional env-file is skipped");
      const many = await root.state("many");
      assert.equal(many.phase, "failed", JSON.stringify(many));
      assert.match(many.reason ?? "", /cannot start: the 'spawn' message has \d+ fields, more than the 32768 the keeper takes/);
      await root.shutdown(daemon);
    }),
  );

  test("a user lookup that never answers fails the start within the lookup timeout", { timeout: 60_000, skip: IS_ROOT ? false : "switching users needs root" }, () =>
    withRoot(async (root) => {
      // A getent that hangs, as one asking a dead LDAP server does; `exec` keeps it one process.
      mkdirSync(root.path("bin"));
      root.file("bin/getent", "#!/bin/sh\nexec sleep 1000\n");
      root.service("s", `${LONGRUN}user = nobody\n`);
      await root.compile();
      const daemon = await root.startDaemon({ env: { PATH: `${root.path("bin")}:${process.env.PATH}` } });
      const start = await root.tend("start", "s");
      assert.equal(start.status, 1, start.stdout + start.stderr);
      assert.ok(start.ms < LOOKUP_TIMEOUT_MS * 3, `the start took ${start.ms} ms`);
      const s = await root.state("s");
      assert.equal(s.phase, "failed");
      assert.match(s.reason ?? "", /cannot look up its user or group: 'getent passwd nobody' did not answer within 5s/);
      await root.shutdown(daemon);
    }),
  );

  test("an env-file its user swapped for a link to a root-only file fails the start; the user's own still works", { timeout: 60_000, skip: IS_ROOT ? false : "switching users needs root" }, () =>
    withRoot(async (root) => {
      const NOBODY = 65534;
      // A directory of nobody's holding its env-file: strict modes allow it (a secret given to nobody).
      const mine = root.path("nobody");
      mkdirSync(mine);
      chownSync(mine, NOBODY, NOBODY);
      const own = root.file("nobody/own.env", "MINE=yes\n");
      chmodSync(own, 0o600);
      chownSync(own, NOBODY, NOBODY);
      // …and the link nobody may put there at any time, to a file only root may read.
      const secret = root.file("secret.env", "SECRET=hunter2\n");
      chmodSync(secret, 0o600);
      const swapped = join(mine, "swapped.env");
      symlinkSync(secret, swapped);
      lchownSync(swapped, NOBODY, NOBODY);
      const service = (file: string): string => `type = longrun\nrestart = never\nuser = nobody\nenv-file = ${file}\ncommand = sh -c 'echo "[$MINE$SECRET]"; exec sleep 1000'\n`;
      root.service("own", service(own));
      root.service("swapped", service(swapped));
      await root.compile(); // strict modes accept both: what is checked is the start
      const daemon = await root.startDaemon();
      const start = await root.tend("start", "own", "swapped");
      assert.equal(start.status, 1, start.stdout + start.stderr);
      assert.equal((await root.state("own")).phase, "up");
      const s = await root.state("swapped");
      assert.equal(s.phase, "failed", JSON.stringify(s));
      assert.match(s.reason ?? "", /is reached through a path nobody may change, and is not nobody's to read/);
      const logs = await root.tend("logs", "own", "swapped");
      assert.doesNotMatch(logs.stdout + logs.stderr, /hunter2/);
      await root.shutdown(daemon);
    }),
  );

  test("an instance whose name is longer than the keeper takes fails; shutdown completes", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("mnt", "type = task\ncommand = true\ninstance = DEVNAME\nstart-on = block-added DEVNAME=*\n");
      await root.compile();
      const daemon = await root.startDaemon();
      const name = `mnt@/dev/${"a".repeat(MAX_SERVICE_NAME_BYTES)}`;
      assert.equal((await root.tend("emit", "block-added", `DEVNAME=${name.slice(4)}`)).status, 0);
      const s = await root.waitPhase(name, "failed");
      assert.match(s.reason ?? "", new RegExp(`cannot start: its name is ${Buffer.byteLength(name)} bytes; the keeper takes at most ${MAX_SERVICE_NAME_BYTES}`));
      await root.shutdown(daemon);
    }),
  );

  test("a log directory that is a plain file: the service runs, says so, and shutdown completes", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service("s", LONGRUN);
      await root.compile();
      mkdirSync(root.places.log, { recursive: true });
      writeFileSync(join(root.places.log, "s"), "not a directory\n");
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "s")).status, 0);
      assert.match(daemon.output(), /s: cannot write its log: Not a directory/);
      await root.shutdown(daemon);
    }),
  );
});
