// Debian's redis-server.service imported as it is shipped, then run: the only change
// is the configuration file its command names (a private one: loopback port, data in a
// temporary state directory), and its user where the test cannot switch to redis. It
// comes up ready by sd_notify and answers PING.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runImport } from "../../src/import/import.js";
import { IS_ROOT, freePort, withRoot } from "../server/harness.js";
import { allGone, converse, daemon } from "../daemons/daemons.js";

const UNIT = "/lib/systemd/system/redis-server.service";
const REDIS = daemon("redis-server", "redis-server");
const skip = REDIS.skip || (existsSync(UNIT) ? false : `${UNIT} absent (Debian package redis-server)`);

const hasRedisUser = ((): boolean => {
  try {
    execFileSync("id", ["-u", "redis"], { stdio: "ignore" });
    return IS_ROOT;
  } catch {
    return false;
  }
})();

test(`redis-server.service imported and run: ready by notify, PING answered${hasRedisUser ? ", as the user redis" : " (as the test's user: not root, or no user redis)"}`, { timeout: 120_000, skip }, () =>
  withRoot(async (root) => {
    chmodSync(root.dir, 0o755); // redis reads its configuration and writes its data through it
    const result = runImport({ operands: [UNIT], to: root.sources, force: false, root: "/" });
    assert.equal(result.units[0]!.errors.length, 0, JSON.stringify(result.units[0]));
    const file = join(root.sources, "redis-server");
    const imported = readFileSync(file, "utf8");
    assert.match(imported, /^command = \/usr\/bin\/redis-server \/etc\/redis\/redis\.conf --supervised systemd --daemonize no$/m);

    const port = await freePort();
    const data = root.path("data");
    const conf = root.path("redis.conf");
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${data}\nsave ""\nappendonly no\nlogfile ""\n`, { mode: 0o644 });
    // Its limit-nofile = 65535 kept only where this machine's hard limit allows it (a container's may be lower).
    const hardFiles = Number(execFileSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim());
    const own = imported
      .replace("/etc/redis/redis.conf", conf)
      .replace(/^(user|group) = redis\n/gm, hasRedisUser ? "$&" : "")
      .replace(/^limit-nofile = (\d+)\n/m, (line, n: string) => (Number.isNaN(hardFiles) || Number(n) <= hardFiles ? line : ""));
    writeFileSync(file, own, { mode: 0o644 });
    // Its data directory, as Debian's package makes /var/lib/redis.
    mkdirSync(data, { mode: 0o750 });
    if (hasRedisUser) execFileSync("chown", ["redis:redis", data]);

    const compiled = await root.compile();
    assert.equal(compiled.status, 0, compiled.stdout + compiled.stderr);
    const server = await root.startDaemon();
    const start = await root.tend("start", "redis-server");
    assert.equal(start.status, 0, `${start.stdout}${start.stderr}\n${server.output()}`);
    const up = await root.state("redis-server");
    assert.equal(up.phase, "up");
    assert.equal(await converse(port, "PING\r\n", /\r\n/), "+PONG\r\n");
    const stop = await root.tend("stop", "redis-server");
    assert.equal(stop.status, 0, stop.stdout + stop.stderr);
    await allGone("redis-server", [up.pid!]);
    await root.shutdown(server);
  }),
);
