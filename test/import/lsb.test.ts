// LSB init scripts into tend service files (src/import/lsb.ts): a hand-written script
// whose header names dependencies, Debian's real cron and ssh scripts where this
// machine has them, ones with no pid file (a forking daemon followed through its tree, a oneshot), and headers that are not LSB's.
// Every translation is compiled with contrib/lsb's facility bundles beside it.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseLsbHeader, pidFileOf, translateLsb } from "../../src/import/lsb.js";
import type { Translation, UnitFiles } from "../../src/import/types.js";
import { compileFiles, errorsOf, show } from "../helpers.js";

const CONTRIB = join(import.meta.dirname, "../../../contrib/lsb");
const BUNDLES = Object.fromEntries(readdirSync(CONTRIB).map((n) => [n, readFileSync(join(CONTRIB, n), "utf8")]));
const NO_FILES: UnitFiles = { read: () => null, list: () => [] };

function translate(path: string, text: string, known: string[] = Object.keys(BUNDLES)): Translation {
  const r = translateLsb({ path, text, files: NO_FILES, known: new Set(known) });
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.translation;
}

/** The translation compiles, with the facility bundles and `others` beside it. */
function compiles(t: Translation, others: Record<string, string> = {}): void {
  const files = { ...BUNDLES, ...others, ...Object.fromEntries(t.files.map((f) => [f.name, f.text])) };
  const r = compileFiles(files);
  assert.deepEqual(errorsOf(r.diagnostics), [], show(r.diagnostics));
}

const HAND_WRITTEN = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          webapp web
# Required-Start:    $network $remote_fs db
# Required-Stop:     $network $remote_fs db
# Should-Start:      cache $all
# Should-Stop:       cache
# X-Start-Before:    proxy
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: The web application
# Description:       A long description
#                    over two lines.
### END INIT INFO
RUNDIR=/run/webapp
PIDFILE=$RUNDIR/webapp.pid
case "$1" in
  start) start-stop-daemon --start --pidfile $PIDFILE --exec /usr/bin/webapp ;;
  stop) start-stop-daemon --stop --pidfile $PIDFILE ;;
  reload|force-reload) start-stop-daemon --stop --signal HUP --pidfile $PIDFILE ;;
esac
`;

describe("LSB init scripts", () => {
  test("a header's dependencies, enabling and description; the pid file through the script's assignments; start, stop and reload call the script", () => {
    const t = translate("/etc/init.d/webapp", HAND_WRITTEN, [...Object.keys(BUNDLES), "db", "cache", "proxy"]);
    assert.deepEqual(t.files, [
      {
        name: "webapp",
        text: [
          "# Translated by tend import from /etc/init.d/webapp (an LSB init script).",
          "description = The web application",
          "type = longrun",
          "command = /etc/init.d/webapp start",
          "pid-file = /run/webapp/webapp.pid",
          "stop = /etc/init.d/webapp stop",
          "reload = /etc/init.d/webapp reload",
          "requires = network remote-fs db",
          "after = cache",
          "before = proxy",
          "",
        ].join("\n"),
      },
    ]);
    assert.deepEqual(t.enable, ["webapp"]);
    const outcome = Object.fromEntries(t.notes.map((n) => [n.directive, n.outcome]));
    assert.deepEqual(outcome, {
      Provides: "approximated",
      "Required-Start": "translated",
      "Required-Stop": "translated",
      "Should-Start": "approximated",
      "Should-Stop": "approximated",
      "X-Start-Before": "translated",
      "Default-Start": "translated",
      "Default-Stop": "ignored",
      "Short-Description": "translated",
      Description: "ignored",
      "pid file": "translated",
    });
    assert.match(t.notes.find((n) => n.directive === "Should-Start")!.why!, /\$all/);
    compiles(t, { db: "type = longrun\ncommand = /bin/true\n", cache: "type = longrun\ncommand = /bin/true\n", proxy: "type = longrun\ncommand = /bin/true\n" });
  });

  test("names the destination lacks are left out, said in the notes; a facility without its bundle too", () => {
    const t = translate("/etc/init.d/webapp", HAND_WRITTEN, []);
    assert.doesNotMatch(t.files[0]!.text, /requires|after|before/);
    const required = t.notes.find((n) => n.directive === "Required-Start")!;
    assert.equal(required.outcome, "dropped");
    assert.match(required.why!, /\$network \(no service or bundle 'network' in the destination\)/);
    compiles(t);
  });

  test("no pid file in the script, a daemon put in the background: a forking daemon whose main is the one process left in its tree; its reload kept", () => {
    const text = "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: thing\n# Default-Start: S\n### END INIT INFO\ncase $1 in\n  start) /usr/bin/thingd & ;;\n  reload) kill -HUP x ;;\nesac\n";
    const t = translate("/etc/init.d/thing.sh", text);
    assert.equal(t.files[0]!.name, "thing");
    assert.match(t.files[0]!.text, /^type = longrun\ncommand = \/etc\/init\.d\/thing\.sh start\nforking = yes\nstop = \/etc\/init\.d\/thing\.sh stop\nreload = \/etc\/init\.d\/thing\.sh reload\n/m);
    assert.deepEqual(t.enable, [], "S alone is not a multi-user runlevel");
    assert.equal(t.notes.find((n) => n.directive === "pid file")!.outcome, "approximated");
    compiles(t);
    const ssd = translate("/etc/init.d/ssd", "### BEGIN INIT INFO\n# Provides: ssd\n### END INIT INFO\nstart-stop-daemon --start --background --exec /usr/bin/ssd\n");
    assert.match(ssd.files[0]!.text, /^forking = yes$/m, "start-stop-daemon --start without --pidfile");
  });

  test("no daemon started (a script that sets something up, as hwclock.sh): a oneshot whose up is its start; 2>&1 and && are no background", () => {
    const text = "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: clock\n# Default-Start: S\n### END INIT INFO\ncase $1 in\n  start) /sbin/hwclock --hctosys 2>&1 &&\n    echo done ;;\n  reload) true ;;\nesac\n";
    const t = translate("/etc/init.d/clock.sh", text);
    assert.match(t.files[0]!.text, /^type = oneshot\nup = \/etc\/init\.d\/clock\.sh start\ndown = \/etc\/init\.d\/clock\.sh stop\n/m);
    assert.equal(t.notes.find((n) => n.directive === "pid file")!.outcome, "translated");
    assert.equal(t.notes.find((n) => n.directive === "reload")!.outcome, "dropped");
    compiles(t);
  });

  test("a pid file also computed at run time (nginx's) is taken from its literal assignment, approximated", () => {
    const text = 'PID=$(awk \'/pid/ {print $2}\' /etc/nginx/nginx.conf)\nif [ -z "$PID" ]; then\n\tPID=/run/nginx.pid\nfi\nstart-stop-daemon --start --pidfile $PID --exec /usr/sbin/nginx\n';
    assert.deepEqual(pidFileOf(text), { path: "/run/nginx.pid", guessed: true, line: 5 });
    assert.equal(pidFileOf("start-stop-daemon --start --pidfile $NOWHERE\n"), null);
  });

  test("what is not an LSB header is refused, located", () => {
    assert.deepEqual(parseLsbHeader("#!/bin/sh\necho hi\n"), { ok: false, error: "no '### BEGIN INIT INFO' header: not an LSB init script" });
    assert.deepEqual(parseLsbHeader("### BEGIN INIT INFO\n# Provides: x\n"), { ok: false, error: "line 1: '### BEGIN INIT INFO' has no '### END INIT INFO'" });
    const bad = parseLsbHeader("### BEGIN INIT INFO\n# Provides: x\nexit 0\n### END INIT INFO\n");
    assert.ok(!bad.ok && bad.error.startsWith("line 3:"), JSON.stringify(bad));
    const r = translateLsb({ path: "/etc/init.d/x", text: "#!/bin/sh\n", files: NO_FILES, known: new Set() });
    assert.ok(!r.ok && r.error.startsWith("/etc/init.d/x: no '### BEGIN INIT INFO'"));
  });

  for (const [script, pidFile, reload] of [
    ["/etc/init.d/cron", "/var/run/crond.pid", true],
    ["/etc/init.d/ssh", "/run/sshd.pid", true],
  ] as const) {
    test(`Debian's ${script}`, { skip: existsSync(script) ? false : `${script} is not installed (apt-get install cron openssh-server)` }, () => {
      const t = translate(script, readFileSync(script, "utf8"));
      const text = t.files[0]!.text;
      assert.match(text, new RegExp(`^pid-file = ${pidFile}$`, "m"));
      assert.match(text, new RegExp(`^command = ${script} start$`, "m"));
      assert.match(text, new RegExp(`^stop = ${script} stop$`, "m"));
      assert.equal(/^reload = /m.test(text), reload);
      assert.match(text, /^requires = remote-fs syslog/m);
      assert.deepEqual(t.enable, [t.files[0]!.name]);
      compiles(t);
    });
  }
});
