// cron as Debian ships it (cron.service: ExecStart=/usr/sbin/cron -f $EXTRA_OPTS with
// EnvironmentFile=-/etc/default/cron): it writes nothing to stdout or stderr and logs
// through syslog(3) alone, to /dev/log (compiled into the C library). So it is heard
// only when tend's syslog listener is /dev/log: `tend daemon --syslog=/dev/log`, as root,
// and only when nothing is at /dev/log already (a syslog daemon's socket is left alone).
//
// cron also takes /run/crond.pid and reads the machine's crontabs (/etc/crontab,
// /etc/cron.d, /var/spool/cron/crontabs, all compiled in): the server runs in a mount
// namespace of its own where ROOT/run is bound onto /run and empty ones onto the
// crontabs, so that this cron runs no job of the machine's and leaves another cron's
// pid file alone (a cron already running on the machine does not matter).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { findTool } from "../helpers.js";
import { waitFor, withRoot, type TestRoot } from "../server/harness.js";
import { allGone, daemon } from "./daemons.js";

const CRON = daemon("cron", "cron", { root: "cron runs as root, and /dev/log is root's to listen on" });
const DEV_LOG = "/dev/log";

const CRONTABS = ["/etc/crontab", "/etc/cron.d", "/var/spool/cron/crontabs"];

function cannotRun(): string | false {
  if (CRON.skip) return CRON.skip;
  if (findTool("unshare") === null || spawnSync("unshare", ["--mount", "--propagation", "private", "true"], { stdio: "ignore" }).status !== 0)
    return "needs a mount namespace (unshare --mount) to give cron empty crontabs and a /run of its own";
  let there: string | null = null;
  try {
    there = lstatSync(DEV_LOG).isSocket() ? "a socket (a syslog daemon's?)" : "something";
  } catch {
    // nothing there: ours to listen on
  }
  if (there !== null) return `${DEV_LOG} is already there (${there}): the test listens there only when it is free, and leaves another's alone`;
  return false;
}

/**
 * The server's shell prefix: in a mount namespace of its own, ROOT/run bound onto /run and
 * empty files and directories onto the crontabs that exist, then the server.
 */
function privateCron(root: TestRoot): string {
  const binds: string[] = [`mount --bind '${root.path("run")}' /run`];
  mkdirSync(root.path("run"), { mode: 0o755 });
  mkdirSync(root.path("empty"), { mode: 0o755 });
  writeFileSync(root.path("crontab"), "", { mode: 0o644 });
  for (const path of CRONTABS) {
    if (!existsSync(path)) continue;
    binds.push(`mount --bind '${lstatSync(path).isDirectory() ? root.path("empty") : root.path("crontab")}' '${path}'`);
  }
  return `exec unshare --mount --propagation private sh -c '${binds.join(" && ").replace(/'/g, `'"'"'`)} && exec "$@"' sh "$0" "$@"`;
}

describe("cron as Debian ships it", () => {
  test("its syslog lines, heard on /dev/log, are in tend logs cron; an ordered stop leaves no cron and no /dev/log", { timeout: 120_000, skip: cannotRun() }, () =>
    withRoot(async (root) => {
      const defaults = root.path("default-cron");
      // /etc/default/cron as Debian ships it, its options set: log the start and end of jobs.
      writeFileSync(defaults, `# Extra options for cron, see cron(8)\nEXTRA_OPTS="-L 1"\n`, { mode: 0o644 });
      root.service(
        "cron",
        ["description = Regular background program processing daemon", "type = longrun", `env-file = -${defaults}`, "command = /usr/sbin/cron -f $EXTRA_OPTS", "restart = on-failure", ""].join("\n"),
      );
      await root.compile();
      try {
        const server = await root.startDaemon({ shellPrefix: privateCron(root), args: [`--syslog=${DEV_LOG}`] });
        await waitFor(`the server to listen on ${DEV_LOG}`, () => existsSync(DEV_LOG) && lstatSync(DEV_LOG).isSocket());
        const start = await root.tend("start", "cron");
        assert.equal(start.status, 0, `${start.stdout}${start.stderr}\n${server.output()}`);
        const up = await root.state("cron");
        assert.equal(up.phase, "up");
        const logs = await waitFor("cron's syslog lines in tend logs cron", async () => {
          const r = await root.tend("logs", "cron");
          return /\(CRON\) INFO/.test(r.stdout) ? r.stdout : null;
        });
        assert.match(logs, /\(CRON\) INFO \(pidfile fd = \d+\)/, "cron's first line, as it logs it at its start");
        assert.ok(existsSync(root.path("run/crond.pid")), "cron's pid file is in the private /run");

        const stop = await root.tend("stop", "cron");
        assert.equal(stop.status, 0, stop.stdout + stop.stderr);
        assert.equal((await root.state("cron")).phase, "down");
        await allGone("cron", [up.pid!]);
        await root.shutdown(server);
        assert.ok(!existsSync(DEV_LOG), `the server removed its ${DEV_LOG}`);
      } finally {
        // Ours alone (it was not there before the test): a server that failed may have left it.
        if (existsSync(DEV_LOG) && lstatSync(DEV_LOG).isSocket()) rmSync(DEV_LOG, { force: true });
      }
    }),
  );
});
