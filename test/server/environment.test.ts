// What a service's process starts with: a clean environment and only its own fds,
// whoever started the server or asked for the start; its user, groups, limits and
// umask as its file says.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import { CLEAN_PATH } from "../../src/config/service.js";
import { findTool } from "../helpers.js";
import { IS_ROOT, readLines, waitFor, withRoot, type ChangeResult, type TestRoot } from "./harness.js";

/**
 * The service writes its environment (exactly as exec'd) and its open fds, then says it
 * is ready. A subshell does the writing, so that the shell's own fds are not touched by
 * the redirections (dash keeps a copy of a redirected fd at 10).
 */
const reporter = (root: TestRoot, tag: string): string =>
  `sh -c 'P=$$; (tr "\\0" "\\n" < /proc/$P/environ > ${root.path(`${tag}.env`)}; ls /proc/$P/fd > ${root.path(`${tag}.fds`)}); echo >&3; exec sleep 1000'`;

function envOf(root: TestRoot, tag: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readLines(root.path(`${tag}.env`))) {
    const eq = line.indexOf("=");
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

const python = findTool("python3");
/** Sends READY=1 and a STATUS= (with python3's socket module, or else systemd-notify), then stays up. */
const NOTIFY_READY =
  python === null
    ? `sh -c 'systemd-notify --ready --status="notified as nobody"; exec sleep 1000'`
    : `${python} -c 'import os, socket, time; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"STATUS=notified as nobody\\nREADY=1", os.environ["NOTIFY_SOCKET"]); time.sleep(1000)'`;

describe("environment and file descriptors", { concurrency: true }, () => {
  test("a service gets the clean base plus its env lines and env-files, and only fds 0-2 and its readiness fd, whatever its starter has", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      const envFile = root.file("service.env", '# comment\nexport FROM_FILE="quoted value"\nOVERRIDDEN=from file\n');
      const serviceText = (tag: string): string =>
        [
          "type = longrun",
          `command = ${reporter(root, tag)}`,
          "ready = fd",
          "env = GREETING=hello world",
          "env = OPTS=a=b",
          "env = OVERRIDDEN=from env line",
          `env-file = ${envFile}`,
          `env-file = -${root.path("no-such.env")}`,
          "",
        ].join("\n");
      root.services({ booted: serviceText("booted"), started: serviceText("started"), default: "type = bundle\ncontents = booted\n" });
      await root.compile();
      // The server inherits a variable and fds without close-on-exec: fd 5 (a pipe from
      // us) and fd 7 (opened by the shell that execs it).
      const daemon = await root.startDaemon({
        boot: true,
        env: { FOO: "leak" },
        extraStdio: ["ignore", "ignore", "pipe"],
        shellPrefix: `exec 7<${envFile}`,
      });
      // The same start gives a program those fds (the server closes them as it starts).
      const control = spawnSync("/bin/sh", ["-c", `exec 7<${envFile}; exec ls /proc/self/fd`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe", "ignore", "ignore", "pipe"] });
      assert.ok(["5", "7"].every((fd) => control.stdout.split("\n").includes(fd)), `fds 5 and 7 were not inherited: ${control.stdout}`);
      // Whatever the server keeps of them must be close-on-exec (Node marks inherited fds so).
      for (const fd of readdirSync(`/proc/${daemon.pid}/fd`)) {
        if (readlinkOr(`/proc/${daemon.pid}/fd/${fd}`) !== envFile) continue;
        const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/${daemon.pid}/fdinfo/${fd}`, "utf8"))![1]!;
        assert.ok((parseInt(flags, 8) & 0o2000000) !== 0, `the server holds the inherited fd ${fd} without close-on-exec`);
      }
      const start = await root.tendWith({ env: { BAR: "cli-leak" } }, "start", "started");
      assert.equal(start.status, 0, start.stdout + start.stderr);
      await root.waitPhase("booted", "up");

      const me = userInfo();
      const expected = {
        PATH: CLEAN_PATH,
        HOME: me.homedir,
        USER: me.username,
        LOGNAME: me.username,
        GREETING: "hello world",
        OPTS: "a=b",
        OVERRIDDEN: "from env line",
        FROM_FILE: "quoted value",
      };
      for (const tag of ["booted", "started"]) {
        assert.deepEqual(envOf(root, tag), { ...expected, TEND_SERVICE: tag }, `${tag}'s environment`);
        assert.deepEqual(readLines(root.path(`${tag}.fds`)).sort(), ["0", "1", "2", "3"], `${tag}'s open fds`);
      }
      await root.shutdown(daemon);
    }),
  );

  test("pass-env brings in exactly the variables it names from the server's environment, never tend's own", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        named: `type = longrun\ncommand = ${reporter(root, "named")}\nready = fd\npass-env = FOO BAR_*\n`,
        all: `type = longrun\ncommand = ${reporter(root, "all")}\nready = fd\npass-env = *\nenv = BAR_TWO=from env\n`,
      });
      await root.compile();
      // As `docker run -e` gives a container's tend boot its environment.
      const daemon = await root.startDaemon({
        env: { FOO: "foo", BAR_ONE: "1", BAR_TWO: "2", BAR: "not a BAR_", BAZ: "not named", TEND_PASS_TEST: "tend's", LISTEN_FDNAMES: "tend's" },
      });
      for (const name of ["named", "all"]) {
        const start = await root.tend("start", name);
        assert.equal(start.status, 0, start.stdout + start.stderr);
      }
      const me = userInfo();
      const base = { PATH: CLEAN_PATH, HOME: me.homedir, USER: me.username, LOGNAME: me.username };
      assert.deepEqual(envOf(root, "named"), { ...base, TEND_SERVICE: "named", FOO: "foo", BAR_ONE: "1", BAR_TWO: "2" });
      const all = envOf(root, "all");
      assert.deepEqual(
        { FOO: all.FOO, BAR: all.BAR, BAZ: all.BAZ, BAR_TWO: all.BAR_TWO, TEND_SERVICE: all.TEND_SERVICE },
        { FOO: "foo", BAR: "not a BAR_", BAZ: "not named", BAR_TWO: "from env", TEND_SERVICE: "all" },
      );
      assert.deepEqual(Object.keys(all).filter((name) => name.startsWith("TEND_") || name.startsWith("LISTEN_")), ["TEND_SERVICE"]);
      assert.deepEqual({ PATH: all.PATH, HOME: all.HOME, USER: all.USER, LOGNAME: all.LOGNAME }, base);
      await root.shutdown(daemon);
    }),
  );

  test("limit-nofile and umask apply to the process", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.service(
        "l",
        [
          "type = longrun",
          `command = sh -c 'ulimit -Sn > ${root.path("soft")}; ulimit -Hn > ${root.path("hard")}; umask > ${root.path("umask")}; touch ${root.path("created")}; echo >&3; exec sleep 1000'`,
          "ready = fd",
          "limit-nofile = 512",
          "umask = 027",
          "",
        ].join("\n"),
      );
      await root.compile();
      const daemon = await root.startDaemon();
      const start = await root.tend("start", "l");
      assert.equal(start.status, 0, start.stdout + start.stderr);
      assert.equal(readFileSync(root.path("soft"), "utf8").trim(), "512");
      assert.equal(readFileSync(root.path("hard"), "utf8").trim(), "512");
      assert.equal(readFileSync(root.path("umask"), "utf8").trim(), "0027");
      assert.equal(statSync(root.path("created")).mode & 0o777, 0o640);
      await root.shutdown(daemon);
    }),
  );

  test("user = nobody runs as nobody with its supplementary groups", { timeout: 60_000, skip: !IS_ROOT && "needs root: creates a group and switches users" }, async () => {
    const group = `tend-test-${randomBytes(4).toString("hex")}`;
    execFileSync("groupadd", [group], { stdio: "pipe" });
    try {
      execFileSync("gpasswd", ["-a", "nobody", group], { stdio: "pipe" });
      const gid = Number(execFileSync("getent", ["group", group], { encoding: "utf8" }).split(":")[2]);
      const nobody = execFileSync("getent", ["passwd", "nobody"], { encoding: "utf8" }).split(":");
      await withRoot(async (root) => {
        // nobody must reach the output directory through the (0700) temporary root.
        chmodSync(root.dir, 0o755);
        const out = root.path("out");
        mkdirSync(out);
        chmodSync(out, 0o777);
        root.service(
          "u",
          [
            "type = longrun",
            `command = sh -c 'id -u > ${out}/uid; id -g > ${out}/gid; id -G > ${out}/groups; ulimit -n > ${out}/nofile; umask > ${out}/umask; echo "$HOME $USER $LOGNAME" > ${out}/who; echo >&3; exec sleep 1000'`,
            "ready = fd",
            "user = nobody",
            "limit-nofile = 512",
            "umask = 027",
            "",
          ].join("\n"),
        );
        // Readiness from a service of another user: it must be allowed to send to the notify socket.
        root.service("n", `type = longrun\ncommand = ${NOTIFY_READY}\nready = notify\nuser = nobody\nstart-timeout = 10s\n`);
        await root.compile();
        const daemon = await root.startDaemon();
        const notify = await root.json<ChangeResult>("start", "n");
        assert.equal(notify.run.status, 0, notify.run.stdout + notify.run.stderr);
        assert.equal((await root.state("n")).statusText, "notified as nobody");
        const { run, data } = await root.json<ChangeResult>("start", "u");
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.deepEqual(data.failed, []);
        const read = (f: string): string => readFileSync(`${out}/${f}`, "utf8").trim();
        await waitFor("the service's report", () => read("who"));
        assert.equal(read("uid"), nobody[2]);
        assert.equal(read("gid"), nobody[3]);
        assert.ok(read("groups").split(" ").includes(String(gid)), `id -G says ${read("groups")}, without ${group} (${gid})`);
        assert.equal(read("groups").split(" ").includes("0"), false, "root's group stayed");
        assert.equal(read("nofile"), "512");
        assert.equal(read("umask"), "0027");
        assert.equal(read("who"), `${nobody[5]} nobody nobody`);
        await root.shutdown(daemon);
      });
    } finally {
      execFileSync("groupdel", [group], { stdio: "pipe" });
    }
  });

  test("user = root from a server that is not root fails the start with the reason", { timeout: 60_000, skip: IS_ROOT && "runs only as a normal user" }, () =>
    withRoot(async (root) => {
      root.service("r", "type = longrun\ncommand = sleep 1000\nuser = root\nrestart = never\n");
      await root.compile();
      const daemon = await root.startDaemon();
      const { run, data } = await root.json<ChangeResult>("start", "r");
      assert.equal(run.status, 1);
      assert.match(data.services[0]!.reason ?? "", /needs a server running as root/);
      await root.shutdown(daemon);
    }),
  );
});


function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}
