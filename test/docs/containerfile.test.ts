// contrib/container/Containerfile and the bench's engine-less image
// (bench/lib/container-rootfs.ts) install the same files in the same places, with the
// same entry points; and those files alone, without node_modules, are a working tend.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ENTRY_POINTS, INSTALLED, LAYOUT } from "../../bench/lib/container-rootfs.js";
import { EXAMPLES, REPO, withTemp } from "../helpers.js";

const CONTAINERFILE = readFileSync(join(REPO, "contrib", "container", "Containerfile"), "utf8");

/** The instructions of one stage (`FROM … AS name`), continuation lines joined. */
function stage(name: string): string[] {
  const lines = CONTAINERFILE.replace(/\\\n/g, " ").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const start = lines.findIndex((l) => new RegExp(`^FROM \\S+ AS ${name}$`).test(l));
  assert.ok(start >= 0, `the Containerfile has no stage ${name}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("FROM "));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

const entrypoint = (instructions: string[]): unknown => JSON.parse(instructions.find((l) => l.startsWith("ENTRYPOINT "))!.slice("ENTRYPOINT ".length));

test("the runtime stage copies from the build what the bench's image installs, to the same places", () => {
  const runtime = stage("runtime");
  const copied = runtime.filter((l) => l.startsWith("COPY --from=build ")).map((l) => l.split(/\s+/).slice(2));
  assert.deepEqual(
    copied,
    INSTALLED.map((item) => [`/src/${item}`, `${LAYOUT.tend}/${item}`]),
  );
  assert.ok(runtime.includes(`RUN ln -s ${LAYOUT.tend}/bin/tend ${LAYOUT.link}`), "tend is linked onto the PATH");
  assert.ok(runtime.includes(`COPY examples ${LAYOUT.services}`), "the example set is the sources place");
  assert.ok(runtime.includes("RUN tend compile"), "the set is compiled at build time");
});

test("both entry points are the ones the bench measures", () => {
  assert.deepEqual(entrypoint(stage("runtime")), ENTRY_POINTS.tend);
  assert.deepEqual(entrypoint(stage("keeper-entry")), ENTRY_POINTS.keeper);
  // Without --target, the last stage is built: the runtime, whose entry point is `tend boot`.
  assert.match(CONTAINERFILE.trimEnd(), /\nFROM runtime$/);
});

test("the installed files run tend without node_modules (the bundle holds croner)", () => {
  withTemp((dir) => {
    for (const item of INSTALLED) cpSync(join(REPO, item), join(dir, item), { recursive: true });
    const tend = (...args: string[]) => spawnSync(process.execPath, [join(dir, "bin", "tend"), ...args], { encoding: "utf8", cwd: dir });
    const version = tend("--version");
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^tend \d/);
    // check compiles the examples, schedules (croner) included.
    const check = tend("check", "--portable", EXAMPLES);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /^accepted: /m);
  });
});
