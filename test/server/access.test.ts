// Access control over the control sockets: the pure decision (src/server/access.ts),
// then the real thing as root and as nobody (setpriv): what anyone may ask, what
// `allow` and a service's own `user` grant, the control group of tend.conf and a bad
// tend.conf, and that nothing an unprivileged user can get carries an `env` value.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { authorise, type Peer, type Policy } from "../../src/server/access.js";
import { defaultService, type ServiceDef } from "../../src/config/service.js";
import { CONTROL_SOCKET, type Request } from "../../src/server/protocol.js";
import { DEFAULT_CONFIG, readServerConfig } from "../../src/server/tend-conf.js";
import { withTemp } from "../helpers.js";
import { IS_ROOT, runCli, withRoot, type Daemon, type Run, type TestRoot } from "./harness.js";

const service = (name: string, extra: Partial<ServiceDef> = {}): ServiceDef => ({ ...defaultService(name, `/etc/tend/${name}`, "longrun"), ...extra });

const policy = (defs: ServiceDef[], controlGroup: Policy["controlGroup"] = null): Policy => ({
  ownerUid: 0,
  controlGroup,
  definition: (name) => defs.find((d) => d.name === name),
  uidOf: (user) => ({ alice: 1000, bob: 1001 })[user as "alice"] ?? null,
  gidOf: (group) => ({ ops: 50, web: 60 })[group as "ops"] ?? null,
});

const alice: Peer = { uid: 1000, gid: 1000, groups: [1000] };
const stop = (...names: string[]): Request => ({ id: 1, cmd: "stop", names });

describe("access: the decision", () => {
  const defs = [
    service("web", { allow: ["alice"] }),
    service("api", { allow: ["@web"] }),
    service("own", { user: "alice" }),
    service("db"),
    { ...service("both"), type: "bundle" as const, allow: [] },
  ];
  test("root, the server's own user and the control group may do everything; anyone may ask", () => {
    for (const request of [stop("db"), { id: 1, cmd: "shutdown" } as Request, { id: 1, cmd: "apply" } as Request]) {
      assert.equal(authorise({ uid: 0, gid: 0, groups: [] }, false, request, policy(defs)), null);
      assert.equal(authorise(alice, false, request, { ...policy(defs), ownerUid: 1000 }), null);
      assert.equal(authorise({ ...alice, groups: [1000, 50] }, false, request, policy(defs, { name: "ops", gid: 50 })), null);
    }
    for (const cmd of ["status", "list", "ping", "events", "levels"] as const) assert.equal(authorise(alice, false, { id: 1, cmd } as Request, policy(defs)), null);
  });

  test("allow names users and @groups; a service's own user may control it; a bundle needs its own allow", () => {
    assert.equal(authorise(alice, false, stop("web"), policy(defs)), null);
    assert.equal(authorise(alice, false, { id: 1, cmd: "logs", name: "own" }, policy(defs)), null);
    assert.equal(authorise({ uid: 1001, gid: 1001, groups: [60] }, false, { id: 1, cmd: "restart", names: ["api"] }, policy(defs)), null);
    assert.equal(authorise(alice, false, { id: 1, cmd: "reload", names: ["web", "own"] }, policy(defs)), null);
    assert.match(authorise(alice, false, { id: 1, cmd: "reload", names: ["db"] }, policy(defs))!, /^permission denied: 'reload db' needs root, .* or 'allow' in db's service file$/);
    assert.equal(
      authorise(alice, false, stop("web", "db"), policy(defs, { name: "ops", gid: 50 })),
      "permission denied: 'stop web db' needs root, the control group 'ops' (tend.conf) or 'allow' in db's service file",
    );
    assert.match(authorise(alice, false, stop("both"), policy(defs))!, /'allow' in both's service file$/);
    assert.match(authorise(alice, false, { id: 1, cmd: "signal", name: "web", signal: "HUP" }, policy(defs))!, /^permission denied: 'signal web' needs root or the control group \(none is set/);
    assert.match(authorise({ uid: 1001, gid: 1001, groups: [] }, false, stop("api"), policy(defs))!, /^permission denied/);
  });

  test("the syslog log is for root and the control group: a service called syslog grants its own log only", () => {
    const logs = (name: string): Request => ({ id: 1, cmd: "logs", name });
    const refusal = "permission denied: 'logs' of the syslog log needs root or the control group (none is set: 'control-group' in tend.conf)";
    assert.equal(authorise(alice, false, logs("syslog"), policy(defs)), refusal);
    assert.equal(authorise(alice, false, logs("_syslog"), policy(defs)), refusal);
    const withSyslog = [...defs, service("syslog", { allow: ["alice"] })];
    assert.equal(authorise(alice, false, logs("syslog"), policy(withSyslog)), null);
    assert.equal(authorise(alice, false, logs("_syslog"), policy(withSyslog)), refusal);
    assert.equal(authorise({ ...alice, groups: [50] }, false, logs("_syslog"), policy(defs, { name: "ops", gid: 50 })), null);
    assert.equal(authorise(alice, false, { id: 1, cmd: "logs", names: ["web", "syslog"] }, policy(defs)), refusal, "merged with the syslog log: root's too");
  });

  test("logs of several services needs each one's allow; of every service (no name), root or the control group; show and cat are never allow's", () => {
    assert.equal(authorise(alice, false, { id: 1, cmd: "logs", names: ["web", "own"] }, policy(defs)), null);
    assert.match(authorise(alice, false, { id: 1, cmd: "logs", names: ["web", "db"] }, policy(defs))!, /^permission denied: 'logs web db' needs root, .* or 'allow' in db's service file$/);
    assert.match(authorise(alice, false, { id: 1, cmd: "logs" }, policy(defs))!, /^permission denied: 'logs' needs root or the control group/);
    assert.equal(authorise({ ...alice, groups: [50] }, false, { id: 1, cmd: "logs" }, policy(defs, { name: "ops", gid: 50 })), null);
    for (const cmd of ["show", "cat"] as const) assert.match(authorise(alice, false, { id: 1, cmd, name: "web" }, policy(defs))!, new RegExp(`^permission denied: '${cmd} web' needs root or`));
    for (const request of [{ id: 1, cmd: "inspect", names: ["db"] }, { id: 1, cmd: "is-enabled", names: ["db"] }] satisfies Request[]) assert.equal(authorise(alice, false, request, policy(defs)), null);
  });

  test("names that are Object.prototype's are services like any other, unknown here", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      assert.match(authorise(alice, false, stop(name), policy(defs))!, /^permission denied/);
    }
  });

  test("a peer whose credentials are unknown is trusted on the control socket only, by its mode", () => {
    assert.equal(authorise(null, true, stop("db"), policy(defs)), null);
    assert.match(authorise(null, false, stop("web"), policy(defs))!, /^permission denied/);
    assert.equal(authorise(null, false, { id: 1, cmd: "status" }, policy(defs)), null);
  });
});

describe("access: tend.conf", () => {
  test("a file others may write, an unknown key, a bad group: each a located error, and the defaults", () =>
    withTemp((dir) => {
      const path = join(dir, "tend.conf");
      const read = (text: string, mode = 0o644) => {
        writeFileSync(path, text);
        chmodSync(path, mode);
        return readServerConfig(path, process.getuid!());
      };
      assert.deepEqual(read("control-group = ops\n"), { config: { controlGroup: "ops", run: {} }, problems: [] });
      assert.deepEqual(read("# nothing yet\n\n"), { config: DEFAULT_CONFIG, problems: [] });
      assert.deepEqual(read("control-group = ops\n", 0o666).problems, [`${path}: error: owned by uid ${process.getuid!()} with mode 0666: it must be owned by uid ${process.getuid!()} and writable by no one else; ignored`]);
      assert.deepEqual(read("\ncontrol-group = o:ps\n").problems, [`${path}:2:17: error: 'o:ps' is not a group name or number`]);
      assert.deepEqual(read("control-group = a\ncontrol-group = b\n").problems, [`${path}:2:1: error: 'control-group' is set twice`]);
      assert.deepEqual(read("constructor = x\n").config, DEFAULT_CONFIG);
      // The run settings (run-settings.ts): the values the flags of `tend boot` take, checked the same way.
      assert.deepEqual(read("exit-with = app\non-boot-failure = stop\nstop-grace = 30s\nlog-format = json\n").config.run, {
        exitWith: "app",
        onBootFailure: "stop",
        stopGraceMs: 30_000,
        logFormat: "json",
      });
      assert.deepEqual(read("on-boot-failure = halt\n").problems, [`${path}:1:19: error: 'halt' is neither report nor stop`]);
      assert.deepEqual(read("stop-grace = 0\n").problems, [`${path}:1:14: error: the stop grace must be longer than 0`]);
      assert.deepEqual(read("stop-grace = 2h\n").problems, [`${path}:1:14: error: '2h' is too long a stop grace: at most 1h`]);
      assert.deepEqual(read("log-format = text\nlog-format = json\n").problems, [`${path}:2:1: error: 'log-format' is set twice`]);
      assert.deepEqual(read("control-group = ops\nexit-with = a b\n"), { config: DEFAULT_CONFIG, problems: [`${path}:2:13: error: 'a b' is not a service name`] });
      assert.deepEqual(readServerConfig(join(dir, "none"), 0), { config: DEFAULT_CONFIG, problems: [] });
    }));
});

const SECRET = "s3cret-value";
const FILE_SECRET = "t0p-file-secret";
const nobody = (...groups: number[]): string[] => ["setpriv", "--reuid=65534", "--regid=65534", groups.length === 0 ? "--clear-groups" : `--groups=${groups.join(",")}`];

/** `tend --root ROOT ARGS…` as nobody, in the given supplementary groups. */
const as = (root: TestRoot, groups: number[], ...args: string[]): Promise<Run> => runCli(["--root", root.dir, ...args], { wrap: nobody(...groups) });

async function withServices(conf: string | null, body: (root: TestRoot, daemon: Daemon) => Promise<void>): Promise<void> {
  await withRoot(async (root) => {
    chmodSync(root.dir, 0o755); // nobody reaches the sockets
    const envFile = root.file("secret.env", `FILE_SECRET=${FILE_SECRET}\n`);
    chmodSync(envFile, 0o600);
    if (conf !== null) writeFileSync(root.path("etc/tend.conf"), conf, { mode: 0o644 });
    root.services({
      web: `type = longrun\ncommand = sleep 1000\nenv = PASSWORD=${SECRET}\nenv-file = ${envFile}\nallow = nobody\n`,
      team: "type = longrun\ncommand = sleep 1000\nallow = @4243\n",
      own: "type = longrun\ncommand = sleep 1000\nuser = nobody\n",
      db: `type = longrun\ncommand = sleep 1000\nenv = PASSWORD=${SECRET}\n`,
      both: "type = bundle\ncontents = web\n",
      "tmpl@": "type = longrun\ncommand = sleep 1000\nallow = nobody\n",
      "per@": "type = longrun\ncommand = sleep 1000\nuser = ${INSTANCE}\n",
    });
    await root.compile();
    const daemon = await root.startDaemon();
    try {
      await body(root, daemon);
    } finally {
      await root.shutdown(daemon);
    }
  });
}

const ok = (run: Run, what: string): void => assert.equal(run.status, 0, `${what}: exit ${run.status}\n${run.stdout}${run.stderr}`);
const denied = (run: Run, message: string): void => {
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.equal(run.stderr, `tend: ${message}\n`);
};

describe("access: by peer, as nobody", { concurrency: true, skip: IS_ROOT ? false : "needs root: the tests connect as nobody with setpriv" }, () => {
  test("nobody may ask anything, and start, stop, restart and read the logs of what 'allow' or its 'user' names, and nothing else", { timeout: 120_000 }, () =>
    withServices(null, async (root) => {
      for (const args of [["status"], ["list"], ["why", "web"], ["events"], ["levels"]]) ok(await as(root, [], ...args), args.join(" "));
      for (const args of [["start", "web"], ["restart", "web"], ["logs", "web"], ["stop", "web"], ["start", "own"], ["stop", "own"]]) ok(await as(root, [], ...args), args.join(" "));
      ok(await as(root, [4243], "start", "team"), "start team in group 4243");
      ok(await as(root, [], "ready", "team"), "ready team");
      const group = "the control group (none is set: 'control-group' in tend.conf)";
      denied(await as(root, [], "start", "team"), `permission denied: 'start team' needs root, ${group} or 'allow' in team's service file`);
      denied(await as(root, [], "stop", "db"), `permission denied: 'stop db' needs root, ${group} or 'allow' in db's service file`);
      denied(await as(root, [], "start", "web", "db"), `permission denied: 'start web db' needs root, ${group} or 'allow' in db's service file`);
      denied(await as(root, [], "start", "both"), `permission denied: 'start both' needs root, ${group} or 'allow' in both's service file`);
      denied(await as(root, [], "logs", "db"), `permission denied: 'logs db' needs root, ${group} or 'allow' in db's service file`);
      for (const args of [["shutdown"], ["enable", "web"], ["emit", "x"], ["set", "x", "1"], ["signal", "web", "HUP"], ["logs"], ["show", "web"], ["cat", "web"]]) {
        const run = await as(root, [], ...args);
        assert.equal(run.status, 1, `${args.join(" ")}: ${run.stderr}`);
        assert.match(run.stderr, new RegExp(`^tend: permission denied: '${args[0]}`), args.join(" "));
      }
      assert.equal((await root.state("db")).phase, "down");
      assert.equal((await root.state("team")).phase, "up");
    }),
  );

  test("an instance of a template, made or not yet, is covered by its template's 'allow' and by its own 'user' (user = ${INSTANCE})", { timeout: 120_000 }, () =>
    withServices(null, async (root) => {
      ok(await as(root, [], "start", "tmpl@a"), "start tmpl@a");
      ok(await as(root, [], "start", "per@nobody"), "start per@nobody");
      assert.equal((await root.state("per@nobody")).phase, "up");
      const group = "the control group (none is set: 'control-group' in tend.conf)";
      denied(await as(root, [], "start", "per@root"), `permission denied: 'start per@root' needs root, ${group} or 'allow' in per@root's service file`);
      const notMade = await root.tend("status", "per@root");
      assert.equal(notMade.status, 3, "down");
      assert.match(notMade.stdout, /not made: no start has named it/, "not made by the refused start");
      ok(await as(root, [], "stop", "tmpl@a"), "stop tmpl@a");
    }),
  );

  test("nothing nobody can get carries an env value: status, list, why, events, levels, refusals", { timeout: 120_000 }, () =>
    withServices(null, async (root) => {
      ok(await root.tend("start", "web", "db"), "start");
      const runs: Run[] = [];
      for (const args of [["status"], ["status", "web"], ["status", "db"], ["is-enabled", "db"], ["list"], ["why", "web"], ["why", "db"], ["events"], ["levels"], ["stop", "db"], ["logs", "db"], ["logs"], ["show", "db"], ["cat", "db"], ["shutdown"]]) {
        runs.push(await as(root, [], ...args), await as(root, [], "--json", ...args));
      }
      for (const run of runs) {
        for (const secret of [SECRET, FILE_SECRET]) assert.ok(!(run.stdout + run.stderr).includes(secret), `a reply carries a secret:\n${run.stdout}${run.stderr}`);
      }
    }),
  );

  test("the control group of tend.conf: control.sock is 0660 root:GROUP and its members may do what root may", { timeout: 120_000 }, () =>
    withServices("# who may control services\ncontrol-group = 4242\n", async (root) => {
      const stat = statSync(join(root.places.run, CONTROL_SOCKET));
      assert.equal(stat.mode & 0o777, 0o660);
      assert.equal(stat.gid, 4242);
      ok(await as(root, [4242], "start", "db"), "start db in the control group");
      ok(await as(root, [4242], "enable", "db"), "enable db in the control group");
      denied(await as(root, [], "stop", "db"), "permission denied: 'stop db' needs root, the control group '4242' (tend.conf) or 'allow' in db's service file");
      assert.equal((await root.state("db")).phase, "up");
    }),
  );

  test("a bad tend.conf is reported at file:line, in the log and in tend status, and leaves no group access", { timeout: 120_000 }, () =>
    withServices("control-grop = 4242\n", async (root, daemon) => {
      const problem = `${root.path("etc/tend.conf")}:1:1: error: unknown key 'control-grop' (did you mean 'control-group'?); tend.conf knows control-group, exit-with, on-boot-failure, stop-grace, log-format, service-logs, syslog`;
      assert.ok(daemon.output().includes(`${problem} (running with the defaults: no control group)`), daemon.output());
      assert.ok((await root.tend("status")).stdout.includes(problem));
      assert.equal(statSync(join(root.places.run, CONTROL_SOCKET)).mode & 0o777, 0o600);
      denied(await as(root, [4242], "stop", "db"), `permission denied: 'stop db' needs root, the control group (none is set: 'control-group' in tend.conf) or 'allow' in db's service file`);
    }),
  );
});
