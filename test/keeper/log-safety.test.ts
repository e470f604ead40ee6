// The keeper's log files against what a local user may plant: a symlink in place of
// the log root or of a service's log directory, a directory owned by someone else, a
// symlink in place of a rotated file; and the group that lets a service's user (and
// nobody else) read its own logs.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../server/harness.js";
import { IS_ROOT, withKeeper } from "./harness.js";

const NOBODY_GID = 65534;
const modeOf = (path: string): number => lstatSync(path).mode & 0o7777;

describe("log files the keeper writes", () => {
  test("a symlink planted as a service's log directory, or as the log root, is not followed", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const victim = join(k.dir, "victim");
      mkdirSync(victim, { mode: 0o700 });
      writeFileSync(join(victim, "current"), "root's own\n", { mode: 0o600 });
      const logs = join(k.dir, "logs");
      mkdirSync(logs);
      symlinkSync(victim, join(logs, "svc"));
      c.send(k.spawnMessage("svc", ["sh", "-c", "echo planted-line"], { logDir: join(logs, "svc") }));
      const trouble = await c.next("log-trouble", (m) => m.service === "svc");
      assert.match(trouble.error, /Not a directory|Too many levels of symbolic links/);
      await c.next("exited", (m) => m.service === "svc");
      assert.equal(readFileSync(join(victim, "current"), "utf8"), "root's own\n", "nothing was appended through the symlink");

      // The log root itself a symlink.
      const rootLink = join(k.dir, "root-link");
      symlinkSync(victim, rootLink);
      c.send(k.spawnMessage("other", ["sh", "-c", "echo planted-line"], { logDir: join(rootLink, "other") }));
      const second = await c.next("log-trouble", (m) => m.service === "other");
      assert.match(second.error, /Not a directory|Too many levels of symbolic links/);
      await c.next("exited", (m) => m.service === "other");
      assert.equal(existsSync(join(victim, "other")), false, "no directory was made through the symlink");
    }),
  );

  test("a service's log directory owned by another user is not written", { timeout: 30_000, skip: IS_ROOT ? false : "needs root to give a directory away" }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const dir = join(k.dir, "log-theirs");
      mkdirSync(dir, { mode: 0o777 });
      chownSync(dir, 65534, NOBODY_GID);
      c.send(k.spawnMessage("theirs", ["sh", "-c", "echo secret"], { logDir: dir }));
      const trouble = await c.next("log-trouble", (m) => m.service === "theirs");
      assert.match(trouble.error, /Operation not permitted/);
      await c.next("exited", (m) => m.service === "theirs");
      assert.equal(existsSync(join(dir, "current")), false);
    }),
  );

  test("rotation renames within the checked directory: a symlink planted as current.1 is replaced, not written through", { timeout: 30_000 }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const dir = join(k.dir, "log-rot");
      mkdirSync(dir, { mode: 0o750 });
      const victim = join(k.dir, "victim-file");
      writeFileSync(victim, "untouched\n", { mode: 0o600 });
      symlinkSync(victim, join(dir, "current.1"));
      c.send(k.spawnMessage("rot", ["sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done"], { logDir: dir, logSize: 1000, logKeep: 2 }));
      await c.next("exited", (m) => m.service === "rot");
      await waitFor("rotated files", () => existsSync(join(dir, "current.2")));
      assert.equal(readFileSync(victim, "utf8"), "untouched\n");
      assert.ok(lstatSync(join(dir, "current.1")).isFile(), "current.1 is a rotated log now");
    }),
  );

  test("with log-group, the directory is 0750 and the files 0640 of that group; without it, of the keeper's", { timeout: 30_000, skip: IS_ROOT ? false : "needs root to give files to a group" }, () =>
    withKeeper({}, async (k) => {
      const c = await k.connect();
      const dir = join(k.dir, "log-grouped");
      c.send(k.spawnMessage("grouped", ["sh", "-c", "i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done"], { logDir: dir, logSize: 1000, logKeep: 2, logGroup: NOBODY_GID }));
      await c.next("exited", (m) => m.service === "grouped");
      for (const path of [dir, join(dir, "current"), join(dir, "current.1")]) {
        assert.equal(statSync(path).gid, NOBODY_GID, path);
        assert.equal(statSync(path).uid, 0, path);
      }
      assert.equal(modeOf(dir), 0o750);
      assert.equal(modeOf(join(dir, "current")), 0o640);
      const plain = join(k.dir, "log-plain");
      c.send(k.spawnMessage("plain", ["sh", "-c", "echo hello"], { logDir: plain }));
      await c.next("exited", (m) => m.service === "plain");
      await waitFor("the line", () => existsSync(join(plain, "current")) && readFileSync(join(plain, "current"), "utf8").includes("hello"));
      assert.equal(statSync(plain).gid, process.getgid!());
      assert.equal(modeOf(plain), 0o750);
    }),
  );
});
