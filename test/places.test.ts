// Where tend keeps things in each mode, and where services' own directories and
// tend.env go: root mode's FHS places, `--root DIR` under DIR, user mode's XDG places
// as systemd --user maps them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { places } from "../src/places.js";

test("root mode: /etc/tend.env and the FHS bases; --root moves them under DIR", () => {
  const system = places({ env: {}, uid: 0 });
  assert.equal(system.environment, "/etc/tend.env");
  assert.deepEqual(system.directories, { runtime: "/run", state: "/var/lib", cache: "/var/cache", logs: "/var/log" });
  const root = places({ root: "/srv/r", env: {}, uid: 1000 });
  assert.equal(root.environment, "/srv/r/etc/tend.env");
  assert.deepEqual(root.directories, { runtime: "/srv/r/run", state: "/srv/r/var/lib", cache: "/srv/r/var/cache", logs: "/srv/r/var/log" });
});

test("user mode: the XDG places, with their defaults", () => {
  const xdg = places({ env: { HOME: "/home/a", XDG_RUNTIME_DIR: "/run/user/1000", XDG_STATE_HOME: "/s", XDG_CACHE_HOME: "/c", XDG_CONFIG_HOME: "/cfg" }, uid: 1000 });
  assert.equal(xdg.environment, "/cfg/tend.env");
  assert.deepEqual(xdg.directories, { runtime: "/run/user/1000", state: "/s", cache: "/c", logs: "/s/log" });
  const bare = places({ env: { HOME: "/home/a" }, uid: 1000 });
  assert.equal(bare.environment, "/home/a/.config/tend.env");
  assert.deepEqual(bare.directories, { runtime: "/tmp/tend-1000/runtime", state: "/home/a/.local/state", cache: "/home/a/.cache", logs: "/home/a/.local/state/log" });
});
