// checkRequest describes what is wrong with a request in its error, whatever it was
// sent: a value whose String() throws, or one nested too deep for JSON.stringify, must
// come back as an error, not as an exception that ends the server.

import { test } from "node:test";
import assert from "node:assert/strict";
import { checkRequest } from "../../src/server/protocol.js";

const deep = (depth: number): unknown => JSON.parse(`${"[".repeat(depth)}${"]".repeat(depth)}`);

test("a name whose String() throws is refused with an error", () => {
  for (const cmd of ["emit", "set", "unset"]) {
    const r = checkRequest(JSON.parse(`{"id":1,"cmd":"${cmd}","name":{"toString":1},"values":{}}`));
    assert.equal(typeof r, "string");
    assert.match(r as string, /^an object is not an event name/);
  }
});

test("a command that is an object, or a list nested 30,000 deep, is refused with an error", () => {
  assert.equal(checkRequest(JSON.parse('{"id":1,"cmd":{"toString":"status"}}')), "unknown command an object");
  assert.equal(checkRequest({ id: 1, cmd: deep(30_000) }), "unknown command a list");
  assert.equal(checkRequest({ id: 1, cmd: "frobnicate" }), 'unknown command "frobnicate"');
});

