// Where the server finds the keeper binary: TEND_KEEPER, else dist/keeper/tend-keeper
// above the module, whether it runs from the CLI bundle or from tsc's output.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findKeeper } from "../../src/keeper/keeper.js";
import { REPO } from "../helpers.js";

const BUILT = join(REPO, "dist/keeper/tend-keeper");

test("TEND_KEEPER wins", () => {
  assert.equal(findKeeper({ TEND_KEEPER: "/opt/keeper" }), "/opt/keeper");
});

test("from the bundle's chunks and from tsc's output, the build's binary is found", () => {
  for (const module of ["dist/bin/chunks/server-ABC123.js", "dist/src/keeper/keeper.js"]) {
    assert.equal(findKeeper({}, pathToFileURL(join(REPO, module)).href), BUILT, module);
  }
});

test("none anywhere above: an error that says how to get one", () => {
  assert.throws(() => findKeeper({}, pathToFileURL("/nonexistent/dir/module.js").href), /npm run build.*TEND_KEEPER/);
});
