// `required`: the lookup that must succeed. It finds what a Map or a record holds, never
// an inherited member, and a miss says which entry of what was missing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { nameRecord, required } from "../src/records.js";

test("required finds an entry of a Map and of a record", () => {
  assert.equal(required(new Map([["db", 1]]), "db", "the counts"), 1);
  const record = nameRecord<number>();
  record.db = 2;
  assert.equal(required(record, "db", "the counts"), 2);
});

test("a miss names what and which entry: in a Map, in a record, and for an inherited member", () => {
  const missing = { message: "the counts: no entry for 'web'" };
  assert.throws(() => required(new Map<string, number>(), "web", "the counts"), missing);
  assert.throws(() => required(nameRecord<number>(), "web", "the counts"), missing);
  assert.throws(() => required<number>({}, "constructor", "the counts"), { message: "the counts: no entry for 'constructor'" });
});
