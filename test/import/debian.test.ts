// `tend import` on the real unit files of Debian 12 packages (installed by .ci/run):
// each set imported passes `tend check` (--portable where the host lacks a program or
// an account), with the translations a reader of the unit expects; a unit that is
// absent skips with the package to install.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../src/compile/compile.js";
import { runImport, type ImportResult } from "../../src/import/import.js";
import { runTend, show, withTemp, writeSource } from "../helpers.js";

const UNITS = "/lib/systemd/system";

/** The units of a package: a skip naming it when one is absent. */
const units = (pkg: string, ...names: string[]): { paths: string[]; skip: string | false } => {
  const missing = names.filter((n) => !existsSync(join(UNITS, n)));
  return { paths: names.map((n) => join(UNITS, n)), skip: missing.length > 0 ? `${missing.join(", ")} absent (Debian package ${pkg})` : false };
};

function importAndCheck(dir: string, paths: string[]): { result: ImportResult; files: Record<string, string> } {
  const to = join(dir, "etc");
  const result = runImport({ operands: paths, to, force: false, root: "/" });
  assert.ok(result.status <= 1, JSON.stringify(result.units.flatMap((u) => u.errors)));
  const files = Object.fromEntries(result.units.flatMap((u) => u.written).map((p) => [p.slice(to.length + 1), readFileSync(p, "utf8")]));
  for (const p of result.units.flatMap((u) => u.written)) assert.equal(statSync(p).mode & 0o777, 0o644, p);
  const portable = compile({ sourceDir: to, hostChecks: false });
  assert.ok(portable.accepted, show(portable.diagnostics));
  return { result, files };
}

const note = (result: ImportResult, directive: string) => result.units.flatMap((u) => u.notes).filter((n) => n.directive === directive);

describe("tend import on Debian's units", () => {
  const ssh = units("openssh-server", "ssh.service", "ssh.socket");
  test("openssh-server: ssh.service a notify longrun with its pre-start, reload and runtime directory; ssh.socket its listen line", { skip: ssh.skip }, () =>
    withTemp((dir) => {
      const { result, files } = importAndCheck(dir, ssh.paths);
      const text = files.ssh!;
      for (const line of ["type = longrun", "ready = notify", "pre-start = /usr/sbin/sshd -t", "command = /usr/sbin/sshd -D $SSHD_OPTS", "env-file = -/etc/default/ssh", "runtime-directory = sshd", "restart = on-failure"]) assert.ok(text.split("\n").includes(line), `${line} in\n${text}`);
      assert.match(text, /^reload = \/bin\/sh -c /m, "two ExecReload lines: one sh -c, in order");
      assert.deepEqual(Object.keys(files), ["ssh"], "the socket is the service's part");
      assert.match(text, /^listen = ssh\.socket=tcp:\[::\]:22$/m);
      assert.doesNotMatch(text, /^start-on/m, "ssh.service is enabled itself: its socket is open from boot, no on-demand start");
      assert.equal(note(result, "After")[0]!.outcome, "dropped", "network.target and auditd.service are not tend services here");
      assert.deepEqual(result.enabled?.added, ["ssh"]);
      assert.equal(result.status, 1, "something was dropped");
    }),
  );

  const nginx = units("nginx-common", "nginx.service");
  test("nginx: a forking daemon followed through its pid file, reload and pre-start kept", { skip: nginx.skip }, () =>
    withTemp((dir) => {
      const { files } = importAndCheck(dir, nginx.paths);
      assert.match(files.nginx!, /^pid-file = \/run\/nginx\.pid$/m);
      assert.match(files.nginx!, /^command = \/usr\/sbin\/nginx -g 'daemon on; master_process on;'$/m);
      assert.match(files.nginx!, /^restart = never$/m, "systemd's default Restart=no, written since tend's is on-failure");
    }),
  );

  const redis = units("redis-server", "redis-server.service", "redis-server@.service");
  test("redis-server: user, limits, directories, no-new-privileges; its template's %i an ${INSTANCE}", { skip: redis.skip }, () =>
    withTemp((dir) => {
      const { files, result } = importAndCheck(dir, redis.paths);
      for (const line of ["user = redis", "group = redis", "limit-nofile = 65535", "runtime-directory = redis", "no-new-privileges = yes", "umask = 007"]) assert.match(files["redis-server"]!, new RegExp(`^${line}$`, "m"));
      assert.match(files["redis-server@"]!, /redis-\$\{INSTANCE\}\.conf/);
      assert.ok(note(result, "ProtectSystem").every((n) => n.outcome === "dropped" && /sandboxing/.test(n.why!)));
    }),
  );

  const cron = units("cron", "cron.service");
  test("cron: its env-file and EXTRA_OPTS carried over", { skip: cron.skip }, () =>
    withTemp((dir) => {
      const { files } = importAndCheck(dir, cron.paths);
      assert.match(files.cron!, /^command = \/usr\/sbin\/cron -f \$EXTRA_OPTS$/m);
      assert.match(files.cron!, /^env-file = -\/etc\/default\/cron$/m);
    }),
  );

  const rsyslog = units("rsyslog", "rsyslog.service");
  test("rsyslog: a notify longrun with its open files limit; syslog.socket dropped", { skip: rsyslog.skip }, () =>
    withTemp((dir) => {
      const { files, result } = importAndCheck(dir, rsyslog.paths);
      assert.match(files.rsyslog!, /^limit-nofile = 16384$/m);
      assert.match(note(result, "Requires")[0]!.why!, /syslog\.socket/);
    }),
  );

  const dbus = units("dbus", "dbus.service");
  test("dbus: the bus daemon with its reload command", { skip: dbus.skip }, () =>
    withTemp((dir) => {
      const { files } = importAndCheck(dir, dbus.paths);
      assert.match(files.dbus!, /^command = \/usr\/bin\/dbus-daemon --system /m);
      assert.match(files.dbus!, /^reload = \/usr\/bin\/dbus-send /m);
    }),
  );

  const dbusSocket = units("dbus", "dbus.service", "dbus.socket");
  test("dbus.socket: the system bus socket a listen line of dbus, enabled by Debian's static link, so dbus starts at the first connection", { skip: dbusSocket.skip }, () =>
    withTemp((dir) => {
      const { files, result } = importAndCheck(dir, [join(UNITS, "dbus.socket")]);
      assert.match(files.dbus!, /^listen = dbus\.socket=unix:\/run\/dbus\/system_bus_socket$/m);
      assert.match(files.dbus!, /^command = \/usr\/bin\/dbus-daemon --system --address=systemd: /m, "it takes its socket from LISTEN_FDS");
      if (existsSync(join(UNITS, "sockets.target.wants/dbus.socket"))) {
        assert.match(files.dbus!, /^start-on = connection SERVICE=dbus$/m);
        assert.deepEqual(result.enabled?.added, ["dbus"]);
      }
      assert.equal(note(result, "Requires")[0]!.outcome, "translated", "Requires=dbus.socket: its own socket");
    }),
  );

  const pg = units("postgresql-common", "postgresql@.service");
  test("postgresql@: a template, a forking daemon followed through its instance's pid file; its instance in the commands and description; PartOf= dropped", { skip: pg.skip }, () =>
    withTemp((dir) => {
      const { files, result } = importAndCheck(dir, pg.paths);
      const text = files["postgresql@"]!;
      assert.match(text, /^description = PostgreSQL Cluster \$\{INSTANCE\}$/m);
      assert.match(text, /^type = longrun$/m);
      assert.match(text, /^command = \/usr\/bin\/pg_ctlcluster --skip-systemctl-redirect "?\$\{INSTANCE\}"? start$/m);
      assert.match(text, /^pid-file = \/run\/postgresql\/\$\{INSTANCE\}\.pid$/m);
      assert.match(text, /^stop = \/usr\/bin\/pg_ctlcluster --skip-systemctl-redirect -m fast "?\$\{INSTANCE\}"? stop$/m, "ExecStop= is the longrun's stop");
      assert.match(text, /^reload = \/usr\/bin\/pg_ctlcluster --skip-systemctl-redirect "?\$\{INSTANCE\}"? reload$/m);
      assert.equal(note(result, "ExecStart")[0]!.outcome, "approximated", "'-': a failing launcher is a failure in tend");
      assert.equal(note(result, "PartOf")[0]!.outcome, "dropped");
      assert.equal(result.enabled, null, "a template without DefaultInstance enables nothing");
    }),
  );

  for (const [pkg, timer, schedule] of [
    ["apt", "apt-daily.timer", "0 6,18 * * *"],
    ["logrotate", "logrotate.timer", "@daily"],
  ] as const) {
    const t = units(pkg, timer, timer.replace(".timer", ".service"));
    test(`${timer} and its service: one task with a schedule and catch-up`, { skip: t.skip }, () =>
      withTemp((dir) => {
        const { files, result } = importAndCheck(dir, t.paths);
        const name = timer.replace(".timer", "");
        assert.deepEqual(Object.keys(files), [name], "the service is the timer's part, not a file of its own");
        assert.match(files[name]!, /^type = task$/m);
        assert.match(files[name]!, new RegExp(`^schedule = ${schedule.replace(/\*/g, "\\*")}$`, "m"));
        assert.match(files[name]!, /^catch-up = yes$/m);
        assert.deepEqual(result.enabled?.added, [name]);
      }),
    );
  }

  const tmpfilesClean = units("systemd", "systemd-tmpfiles-clean.timer", "systemd-tmpfiles-clean.service");
  test("systemd-tmpfiles-clean.timer: OnBootSec=15min and OnUnitActiveSec=1d, one schedule after the boot", { skip: tmpfilesClean.skip }, () =>
    withTemp((dir) => {
      const { files, result } = importAndCheck(dir, tmpfilesClean.paths);
      assert.match(files["systemd-tmpfiles-clean"]!, /^schedule = every 1d from 15m after boot$/m);
      assert.equal(note(result, "OnBootSec")[0]!.outcome, "translated");
    }),
  );

  const journald = units("systemd", "systemd-journald@.service");
  test("systemd-journald@: LogsDirectoryMode=02755, a set-group-id mode as systemd writes it, kept", { skip: journald.skip }, () =>
    withTemp((dir) => {
      const { files, result } = importAndCheck(dir, journald.paths);
      assert.match(files["systemd-journald@"]!, /^logs-directory-mode = 02755$/m);
      assert.equal(note(result, "LogsDirectoryMode")[0]!.outcome, "translated");
    }),
  );

  const tmpfiles = units("systemd", "systemd-tmpfiles-setup.service");
  test("systemd-tmpfiles-setup: SuccessExitStatus=DATAERR CANTCREAT, sysexits.h names, as their numbers", { skip: tmpfiles.skip }, () =>
    withTemp((dir) => {
      const { files, result } = importAndCheck(dir, tmpfiles.paths);
      assert.match(files["systemd-tmpfiles-setup"]!, /^success-exit = 65 73$/m);
      assert.equal(note(result, "SuccessExitStatus")[0]!.outcome, "translated");
    }),
  );

  const all = units("openssh-server nginx-common redis-server cron rsyslog dbus", "ssh.service", "nginx.service", "redis-server.service", "cron.service", "rsyslog.service", "dbus.service");
  test("the daemons together, with the host checks where their programs and users are here", { skip: all.skip }, () =>
    withTemp((dir) => {
      importAndCheck(dir, all.paths);
      const checked = compile({ sourceDir: join(dir, "etc"), hostChecks: true });
      assert.ok(checked.accepted, show(checked.diagnostics));
      assert.deepEqual(checked.compiled!.boot.flat().sort(), ["cron", "dbus", "nginx", "redis-server", "rsyslog", "ssh"].filter((n) => n !== "dbus"));
    }),
  );
});

describe("tend import, the command", () => {
  const unit = "[Unit]\nDescription=demo\nAfter=network.target\n[Service]\nExecStart=/bin/sleep 1000\nRestart=always\n[Install]\nWantedBy=multi-user.target\n";

  test("exit 1 when something was dropped, 0 when all translated, 3 for a file there already or no such unit, 2 for usage; --force replaces", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), { "demo.service": unit, "exact.service": "[Service]\nExecStart=/bin/sleep 1000\n" });
      const to = join(dir, "etc");
      const first = runTend(["import", "--to", to, join(dir, "units/demo.service")]);
      assert.equal(first.status, 1, first.stdout + first.stderr);
      assert.match(first.stdout, /dropped +After= \(demo\.service:3\): no tend service for network\.target/);
      assert.match(first.stdout, /enabled: demo \(added to .*\/etc\/default\)/);
      const exact = runTend(["import", "--to", to, join(dir, "units/exact.service")]);
      assert.equal(exact.status, 0, exact.stdout + exact.stderr);
      const again = runTend(["import", "--to", to, join(dir, "units/demo.service")]);
      assert.equal(again.status, 3);
      assert.match(again.stdout, /demo exists: left as it is \(--force replaces it\)/);
      assert.equal(runTend(["import", "--to", to, "--force", join(dir, "units/demo.service")]).status, 1);
      writeSource(to, { network: "type = bundle\n" });
      writeSource(join(dir, "units"), { "web.service": "[Unit]\nAfter=network.target demo.service\n[Service]\nExecStart=/bin/sleep 1000\nRestart=always\n" });
      const web = runTend(["import", "--to", to, join(dir, "units/web.service")]);
      assert.equal(web.status, 0, web.stdout);
      assert.match(readFileSync(join(to, "web"), "utf8"), /^after = network demo$/m, "a target the destination has a bundle for, a service it has");
      const missing = runTend(["import", "--to", to, "--root", dir, "no-such-unit"]);
      assert.equal(missing.status, 3);
      assert.match(missing.stdout, /no unit 'no-such-unit\.service' in /);
      assert.equal(runTend(["import"]).status, 2);
      const check = runTend(["check", to]);
      assert.equal(check.status, 0, check.stdout + check.stderr);
      assert.equal(readFileSync(join(to, "default"), "utf8").match(/^contents = demo$/gm)?.length, 1, "enabled once");
    }),
  );

  test("a unit name is looked up in the unit directories under --root; --json gives the notes", () =>
    withTemp((dir) => {
      writeSource(join(dir, "lib/systemd/system"), { "demo.service": unit });
      const r = runTend(["import", "--json", "--root", dir, "--to", join(dir, "out"), "demo"]);
      assert.equal(r.status, 1, r.stderr);
      const data = JSON.parse(r.stdout) as ImportResult;
      assert.deepEqual(data.units[0]!.written, [join(dir, "out/demo")]);
      assert.ok(data.units[0]!.notes.some((n) => n.directive === "ExecStart" && n.outcome === "translated" && n.to === "command = /bin/sleep 1000"));
    }),
  );

  test("Type=forking without PIDFile: forking = yes (its main the one process left); with RemainAfterExit=yes a oneshot; targets and slices of a directory passed over", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), {
        "guess.service": "[Service]\nType=forking\nExecStart=/usr/sbin/guessd\n",
        "remain.service": "[Service]\nType=forking\nRemainAfterExit=yes\nExecStart=/etc/rc.local start\n",
        "multi-user.target": "[Unit]\nDescription=Multi-User System\n",
        "user.slice": "[Unit]\nDescription=users\n",
      });
      const result = runImport({ operands: [join(dir, "units")], to: join(dir, "etc"), force: false, root: "/" });
      assert.deepEqual(result.units.map((u) => u.source.slice(dir.length + 1)), ["units/guess.service", "units/remain.service"]);
      const guess = readFileSync(join(dir, "etc/guess"), "utf8");
      assert.match(guess, /^type = longrun$/m);
      assert.match(guess, /^forking = yes$/m);
      assert.match(guess, /^command = \/usr\/sbin\/guessd$/m);
      assert.match(readFileSync(join(dir, "etc/remain"), "utf8"), /^type = oneshot\nup = \/etc\/rc\.local start$/m);
      const alone = runImport({ operands: [join(dir, "units/multi-user.target")], to: join(dir, "etc"), force: false, root: "/" });
      assert.match(alone.units[0]!.errors[0]!, /not a file tend can import/);
      const checked = compile({ sourceDir: join(dir, "etc"), hostChecks: false });
      assert.ok(checked.accepted, show(checked.diagnostics));
    }),
  );

  test("directory modes: sticky and set-group-id kept, set-user-id left out; exit status names and signals; a bad word dropped", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), {
        "modes.service":
          "[Service]\nExecStart=/bin/sleep 1\nRuntimeDirectory=a\nRuntimeDirectoryMode=04750\nStateDirectory=b\nStateDirectoryMode=1777\nCacheDirectory=c\nCacheDirectoryMode=0x1\n" +
          "SuccessExitStatus=USAGE 2 SIGTERM\nSuccessExitStatus=HUP NOTRUNNING bogus\n",
      });
      const result = runImport({ operands: [join(dir, "units")], to: join(dir, "etc"), force: false, root: "/" });
      const text = readFileSync(join(dir, "etc/modes"), "utf8");
      assert.match(text, /^runtime-directory-mode = 0750$/m);
      assert.match(text, /^state-directory-mode = 1777$/m);
      assert.doesNotMatch(text, /^cache-directory-mode/m);
      assert.match(text, /^success-exit = 64 2 SIGTERM SIGHUP 7$/m, "both lines' words in one key, names as numbers");
      const notes = (d: string) => result.units[0]!.notes.filter((n) => n.directive === d);
      assert.deepEqual(notes("RuntimeDirectoryMode").map((n) => [n.outcome, n.why]), [["approximated", "set-user-id (4000) means nothing on a directory: left out"]]);
      assert.equal(notes("CacheDirectoryMode")[0]!.outcome, "dropped");
      assert.deepEqual(notes("SuccessExitStatus").map((n) => n.outcome), ["translated", "approximated"]);
      assert.match(notes("SuccessExitStatus")[1]!.why!, /'bogus': neither an exit status/);
      const checked = compile({ sourceDir: join(dir, "etc"), hostChecks: false });
      assert.ok(checked.accepted, show(checked.diagnostics));
    }),
  );

  test("Type=oneshot without ExecStart=: its ExecStartPost the command, or /bin/true, said so; the set checks", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), {
        "post.service": "[Service]\nType=oneshot\nExecStartPost=/bin/echo done\n",
        "remain.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStop=/bin/echo stopping\n",
        "bare.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\n",
        "prepost.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStartPost=/bin/echo up\n",
        "pre.service": "[Service]\nType=oneshot\nExecStartPre=/bin/echo pre\n",
      });
      const result = runImport({ operands: [join(dir, "units")], to: join(dir, "etc"), force: false, root: "/" });
      const file = (n: string) => readFileSync(join(dir, "etc", n), "utf8");
      assert.match(file("post"), /^type = task\ncommand = \/bin\/echo done\n/m);
      assert.match(file("remain"), /^type = oneshot\nup = \/bin\/true\ndown = \/bin\/echo stopping\n/m);
      assert.match(file("bare"), /^type = oneshot\nup = \/bin\/true\n/m);
      assert.equal(file("prepost").match(/^up = /gm)?.length, 1, "one up: its ExecStartPost");
      assert.match(file("prepost"), /^up = \/bin\/echo up$/m);
      assert.match(file("pre"), /^pre-start = \/bin\/echo pre\ncommand = \/bin\/true$/m);
      const absent = result.units.flatMap((u) => u.notes.filter((n) => n.directive === "ExecStart" && n.line === 0).map((n) => `${u.source.slice(dir.length + 7)} ${n.outcome} ${n.to}`));
      assert.deepEqual(absent, ["bare.service approximated up = /bin/true", "pre.service approximated command = /bin/true", "remain.service approximated up = /bin/true"]);
      const checked = compile({ sourceDir: join(dir, "etc"), hostChecks: false });
      assert.ok(checked.accepted, show(checked.diagnostics));
    }),
  );

  test("ExecStartPost= of a longrun: its post-start; several lines one sh -c, in order", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), {
        "one.service": "[Service]\nExecStart=/bin/sleep 100\nExecStartPost=/bin/echo started\n",
        "two.service": "[Service]\nExecStart=/bin/sleep 100\nExecStartPost=/bin/echo a\nExecStartPost=-/bin/echo b\n",
      });
      const result = runImport({ operands: [join(dir, "units")], to: join(dir, "etc"), force: false, root: "/" });
      assert.match(readFileSync(join(dir, "etc/one"), "utf8"), /^post-start = \/bin\/echo started$/m);
      assert.match(readFileSync(join(dir, "etc/two"), "utf8"), /^post-start = \/bin\/sh -c .*echo.*a.* && \{ .*echo.*b.* \|\| true; \}'$/m);
      assert.ok(result.units.every((u) => u.notes.filter((n) => n.directive === "ExecStartPost").every((n) => n.outcome === "translated")));
      const checked = compile({ sourceDir: join(dir, "etc"), hostChecks: false });
      assert.ok(checked.accepted, show(checked.diagnostics));
    }),
  );

  test("a unit's drop-ins (NAME.d/*.conf) are read after it: a reset list, a changed user", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), { "d.service": "[Service]\nExecStart=/bin/sleep 1\nEnvironment=A=1\nUser=a\n" });
      writeSource(join(dir, "units/d.service.d"), { "10-local.conf": "[Service]\nEnvironment=\nEnvironment=\"B=2 3\" C=4\nUser=b\n", "ignored.txt": "junk" });
      const result = runImport({ operands: [join(dir, "units/d.service")], to: join(dir, "etc"), force: false, root: "/" });
      const text = readFileSync(join(dir, "etc/d"), "utf8");
      assert.match(text, /^env = B=2 3\nenv = C=4$/m);
      assert.doesNotMatch(text, /A=1/);
      assert.match(text, /^user = b$/m);
      assert.ok(result.units[0]!.notes.some((n) => n.directive === "User" && n.file.endsWith("10-local.conf") && n.line === 4));
    }),
  );

  test("tend check on a unit says so in one line, pointing to tend import", () =>
    withTemp((dir) => {
      writeSource(join(dir, "etc"), { ssh: "# a comment\n\n[Unit]\nDescription=x\n[Service]\nExecStart=/usr/sbin/sshd -D\n" });
      const r = runTend(["check", "--portable", join(dir, "etc")]);
      assert.equal(r.status, 1);
      const errors = r.stdout.split("\n").filter((l) => l.includes("error:"));
      assert.deepEqual(errors, [`${join(dir, "etc/ssh")}:3:1: error: this is a systemd unit ('[Unit]'), not a tend service file: translate it with 'tend import ${join(dir, "etc/ssh")}'`]);
    }),
  );
});
