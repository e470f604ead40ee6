// Redis as Debian ships it (redis-server.service: ExecStart=/usr/bin/redis-server
// /etc/redis/redis.conf --supervised systemd --daemonize no, Type=notify, User=redis):
// a private configuration on a loopback port with its data in the state directory tend
// makes for it, ready when it says READY=1, run as redis when the test is root, PING
// answered over the protocol, a reload by a command (redis-cli, when redis-tools is
// installed), an ordered stop that leaves no redis.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { findTool } from "../helpers.js";
import { IS_ROOT, freePort, waitFor, withRoot } from "../server/harness.js";
import { allGone, converse, daemon } from "./daemons.js";

const REDIS = daemon("redis-server", "redis-server");
const CLI = findTool("redis-cli");

/** The uid of the user redis, when the test can run it as that user. */
const redisUid = ((): number | null => {
  if (!IS_ROOT) return null;
  try {
    return Number(execFileSync("id", ["-u", "redis"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  } catch {
    return null;
  }
})();

const uidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);

describe("redis as Debian ships it", () => {
  test(`ready by notify, its data in its state directory, PING answered${redisUid === null ? " (as the test's user: not root, or no user redis)" : ", as the user redis"}${CLI === null ? "" : "; tend reload runs redis-cli beside it"}; an ordered stop`, { timeout: 120_000, skip: REDIS.skip }, () =>
    withRoot(async (root) => {
      chmodSync(root.dir, 0o755); // redis reads its configuration and writes its data through it
      const port = await freePort();
      const data = `${root.places.directories.state}/redis`;
      // What /etc/redis/redis.conf says that matters here, for a private instance.
      const conf = root.path("redis.conf");
      writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${data}\nsave ""\nappendonly no\nlogfile ""\n`, { mode: 0o644 });
      root.service(
        "redis",
        [
          "description = Advanced key-value store",
          "type = longrun",
          `command = ${REDIS.path} ${conf} --supervised systemd --daemonize no`,
          "ready = notify",
          "restart = always",
          ...(redisUid === null ? [] : ["user = redis", "group = redis"]),
          "umask = 007",
          "state-directory = redis",
          "state-directory-mode = 0750",
          // Debian ships no reload for redis: one that changes a setting of the running server.
          ...(CLI === null ? [] : [`reload = ${CLI} -h 127.0.0.1 -p ${port} CONFIG SET maxmemory 64mb`]),
          "",
        ].join("\n"),
      );
      await root.compile();
      const server = await root.startDaemon();
      const start = await root.tend("start", "redis");
      assert.equal(start.status, 0, `${start.stdout}${start.stderr}\n${server.output()}`);
      const up = await root.state("redis");
      assert.equal(up.phase, "up");
      const main = up.pid!;
      if (redisUid !== null) assert.equal(uidOf(main), redisUid, "redis runs as redis");

      assert.equal(await converse(port, "PING\r\n", /\r\n/), "+PONG\r\n");
      // Its working directory is the state directory tend made (redis's, 0750).
      const dir = await converse(port, "CONFIG GET dir\r\n", new RegExp(`${data}\\r\\n`));
      assert.match(dir, new RegExp(`^\\*2\\r\\n\\$3\\r\\ndir\\r\\n\\$\\d+\\r\\n${data}\\r\\n$`));
      await waitFor("redis's log to say it is ready", async () => /Ready to accept connections/.test((await root.tend("logs", "redis")).stdout));

      if (CLI !== null) {
        const reload = await root.tend("reload", "redis");
        assert.equal(reload.status, 0, `${reload.stdout}${reload.stderr}\n${server.output()}`);
        assert.match(await converse(port, "CONFIG GET maxmemory\r\n", /67108864\r\n/), /67108864/, "the reload command changed the running redis");
        const after = await root.state("redis");
        assert.deepEqual([after.phase, after.pid], ["up", main], "a reload is not a restart");
      }

      const stop = await root.tend("stop", "redis");
      assert.equal(stop.status, 0, stop.stdout + stop.stderr);
      assert.equal((await root.state("redis")).phase, "down");
      await allGone("redis", [main]);
      await root.shutdown(server);
    }),
  );
});
