// systemd's specifiers: a template's instance as ${INSTANCE}, the fixed places, and those with no fixed text.

import { test } from "node:test";
import assert from "node:assert/strict";
import { replaceSpecifiers, type UnitIdentity } from "../../src/import/specifiers.js";

const template: UnitIdentity = { prefix: "postgresql", suffix: "service", template: true, user: null };
const plain: UnitIdentity = { prefix: "redis-server", suffix: "service", template: false, user: "redis" };

test("a template's %i and %I are ${INSTANCE}; %n %N %p its names", () => {
  assert.deepEqual(replaceSpecifiers("/run/postgresql/%i.pid %I %n %N %p", template), { text: "/run/postgresql/${INSTANCE}.pid ${INSTANCE} postgresql@${INSTANCE}.service postgresql@${INSTANCE} postgresql" });
});

test("places, %u, %%; outside a template %i is empty", () => {
  assert.deepEqual(replaceSpecifiers("%t/%S/%C/%L/%E %u 100%% [%i]", plain), { text: "/run//var/lib//var/cache//var/log//etc redis 100% []" });
});

test("what depends on the machine or another user's account has no text", () => {
  assert.deepEqual(replaceSpecifiers("%H", plain), { unsupported: "%H" });
  assert.deepEqual(replaceSpecifiers("%h", plain), { unsupported: "%h" });
  assert.deepEqual(replaceSpecifiers("%h", template), { text: "/root" });
});
