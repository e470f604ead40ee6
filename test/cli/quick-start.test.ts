// The quick CLI runs from the V8 code cache the build made of it (src/cli/quick-start.ts,
// code-cache.ts): V8 takes the build's cache, and a cache that is damaged, or older than
// the bundle, costs only the time it saves.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cachedScript } from "../../src/cli/code-cache.js";
import { childEnv, REPO, withTemp } from "../helpers.js";

const BIN = join(REPO, "dist", "bin");
const { version } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };

test("V8 takes the code cache the build made of the quick CLI", () => {
  assert.equal(cachedScript(join(BIN, "quick.cjs"), join(BIN, "quick.cache"), { offerCache: true }).cacheTaken, true);
});

test("a damaged cache is not taken and one older than the bundle is not offered: the CLI runs all the same", () =>
  withTemp((dir) => {
    for (const f of ["tend.cjs", "quick.cjs", "quick.cache"]) copyFileSync(join(BIN, f), join(dir, f));
    const versionOf = (): string => {
      const r = spawnSync(process.execPath, [join(dir, "tend.cjs"), "--version"], { encoding: "utf8", env: childEnv() });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    writeFileSync(join(dir, "quick.cache"), Buffer.alloc(4096, 7));
    assert.equal(cachedScript(join(dir, "quick.cjs"), join(dir, "quick.cache"), { offerCache: true }).cacheTaken, false);
    assert.equal(versionOf(), `tend ${version}`);
    copyFileSync(join(BIN, "quick.cache"), join(dir, "quick.cache"));
    utimesSync(join(dir, "quick.cache"), new Date(0), new Date(0));
    assert.equal(cachedScript(join(dir, "quick.cjs"), join(dir, "quick.cache"), { offerCache: true }).cacheTaken, null);
    assert.equal(versionOf(), `tend ${version}`);
  }),
);
