// One service file at a time: every validation error the parser reports, each at its
// exact FILE:LINE:COL, and the values it accepts.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FILE, assertHas, assertOneError, parse, plain, show } from "../helpers.js";

const LONGRUN = "type = longrun\ncommand = /bin/true\n"; // the row's own line is line 3
const TASK = "type = task\ncommand = /bin/true\n";
const ONESHOT = "type = oneshot\nup = /bin/true\n";
const BUNDLE = "type = bundle\ncontents = a\n";

interface Row {
  name: string;
  text: string;
  /** Where the one error is, as FILE:LINE:COL prints. */
  at: string;
  parts: string[];
}

const pick = ({ reload, reloadSignal, reloadTimeoutMs }: { reload: unknown; reloadSignal: unknown; reloadTimeoutMs: unknown }) => ({ reload, reloadSignal, reloadTimeoutMs });
const row = (name: string, text: string, at: string, ...parts: string[]): Row => ({ name, text, at, parts });
const L3 = (col: number): string => `${FILE}:3:${col}`;

// Each row is a file that is valid but for one mistake, which must be the only error.
const ROWS: Row[] = [
  // keys
  row("unknown key, with a guess", `${LONGRUN}restrat = always\n`, L3(1), "unknown key 'restrat'", "(did you mean 'restart'?)"),
  row("unknown key after indentation", `${LONGRUN}   descripton = x\n`, L3(4), "unknown key 'descripton'", "did you mean 'description'"),
  row("unknown key, nothing close", `${LONGRUN}frobnicate = 1\n`, L3(1), "unknown key 'frobnicate'"),
  row("key that is not lower-case", `${LONGRUN}Restart = always\n`, L3(1), "'Restart' is not a valid key"),
  row("line without '='", `${LONGRUN}  just some words\n`, L3(3), "expected 'key = value', found 'just some words'"),
  row("duplicate single-valued key", `${LONGRUN}command = /bin/false\n`, L3(1), "'command' is already set on line 2; it may appear once"),
  row("duplicate type", `${LONGRUN}type = longrun\n`, L3(1), "'type' is already set on line 1"),
  row("empty value", `${LONGRUN}user =\n`, L3(1), "'user' needs a value"),
  // durations
  row("duration without a unit", `${LONGRUN}stop-timeout = 10\n`, L3(16), "'10' is not a duration", "say '10s' for seconds"),
  row("decimal duration without a unit", `${LONGRUN}stop-timeout = 1.5\n`, L3(16), "say '1.5s' for seconds"),
  row("duration with a bad unit part", `${LONGRUN}start-timeout = 1h30x\n`, L3(19), "'1h30x' is not a duration"),
  row("negative duration", `${LONGRUN}restart-delay = -1s\n`, L3(17), "'-1s' is not a duration"),
  row("infinity where no limit is allowed", `${LONGRUN}restart-delay = infinity\n`, L3(17), "'infinity' is not a duration"),
  row("absurdly long duration", `${LONGRUN}stop-timeout = ${"9".repeat(400)}d\n`, L3(16), "too long"),
  row("duration beyond 100 years", `${LONGRUN}restart-delay-max = 36501d\n`, L3(21), "'36501d' is too long a duration: at most 36500d (100 years)"),
  row("restart-delay above restart-delay-max", `${LONGRUN}restart-delay = 1m\nrestart-delay-max = 10s\n`, `${FILE}:3`, "'restart-delay' is longer than 'restart-delay-max'"),
  // reload
  row("both reload and reload-signal", `${LONGRUN}reload = /bin/true\nreload-signal = HUP\n`, `${FILE}:4`, "'reload' (line 3) and 'reload-signal' (line 4) both say how to reload: keep one"),
  row("reload for a oneshot", `${ONESHOT}reload = /bin/true\n`, L3(1), "'reload'"),
  row("misspelt reload signal", `${LONGRUN}reload-signal = HUPP\n`, L3(17), "'HUPP' is not a signal"),
  // signals and exit statuses
  row("misspelt signal", `${LONGRUN}stop-signal = TERN\n`, L3(15), "'TERN' is not a signal", "(did you mean 'TERM'?)"),
  row("signal number that does not exist", `${LONGRUN}stop-signal = 99\n`, L3(15), "99 is not a signal number"),
  row("signal zero", `${LONGRUN}stop-signal = 0\n`, L3(15), "0 is not a signal number"),
  row("success-exit with a bad word", `${LONGRUN}success-exit = 0 SIGFOO\n`, L3(18), "'SIGFOO' is neither an exit code (0–255) nor a signal name"),
  row("success-exit above 255", `${LONGRUN}success-exit = 0 143 256\n`, L3(22), "'256' is not a whole number from 0 to 255"),
  // readiness
  row("ready fd below 3", `${LONGRUN}ready = fd:2\n`, L3(12), "the readiness fd must be a number from 3 to 1023, not '2'"),
  row("ready fd not a number", `${LONGRUN}ready = fd:x\n`, L3(12), "not 'x'"),
  row("ready fd above 1023", `${LONGRUN}ready = fd:1024\n`, L3(12), "not '1024'"),
  row("ready notify with an argument", `${LONGRUN}ready = notify:1\n`, L3(15), "'notify' takes no argument"),
  row("ready none with an argument", `${LONGRUN}ready = none:x\n`, L3(13), "'none' takes no argument"),
  row("ready tcp without a port", `${LONGRUN}ready = tcp:localhost\n`, L3(13), "expected tcp:HOST:PORT"),
  row("ready tcp with nothing", `${LONGRUN}ready = tcp\n`, L3(9), "expected tcp:HOST:PORT"),
  row("ready tcp port 0", `${LONGRUN}ready = tcp:localhost:0\n`, L3(23), "port 0 is not from 1 to 65535"),
  row("ready tcp port too high", `${LONGRUN}ready = tcp:[::1]:65536\n`, L3(19), "port 65536 is not from 1 to 65535"),
  row("ready tcp with an unclosed IPv6 bracket", `${LONGRUN}ready = tcp:[::1:80\n`, L3(13), "expected tcp:HOST:PORT"),
  row("ready unix with a relative path", `${LONGRUN}ready = unix:run/x.sock\n`, L3(14), "expected unix:/ABSOLUTE/PATH"),
  row("ready unix without a path", `${LONGRUN}ready = unix\n`, L3(9), "expected unix:/ABSOLUTE/PATH"),
  row("ready unix-dgram with a relative path", `${LONGRUN}ready = unix-dgram:dev/log\n`, L3(20), "expected unix-dgram:/ABSOLUTE/PATH"),
  row("ready unix-dgram misspelt", `${LONGRUN}ready = unix-dgran:/dev/log\n`, L3(9), "'unix-dgran' is not a readiness protocol", "(did you mean 'unix-dgram'?)"),
  row("ready exec without a command", `${LONGRUN}ready = exec:\n`, L3(14), "expected exec:COMMAND"),
  row("ready exec with an unterminated quote", `${LONGRUN}ready = exec:probe 'x\n`, L3(20), "unterminated single quote"),
  row("ready kind misspelt", `${LONGRUN}ready = fdd\n`, L3(9), "'fdd' is not a readiness protocol", "(did you mean 'fd'?)"),
  row("ready kind misspelt with an argument", `${LONGRUN}ready = tcq:127.0.0.1:80\n`, L3(9), "'tcq' is not a readiness protocol", "(did you mean 'tcp'?)"),
  row("ready on a task", `${TASK}ready = fd\n`, L3(1), "'ready' does not apply to a task: a task runs to completion and is never up"),
  row("ready on a oneshot", `${ONESHOT}ready = notify\n`, L3(1), "'ready' does not apply to a oneshot; it applies to longrun"),
  // restart limits
  row("restart-limit in the wrong form", `${LONGRUN}restart-limit = 5 per 30s\n`, L3(17), "expected 'COUNT in DURATION'"),
  row("restart-limit of zero restarts", `${LONGRUN}restart-limit = 0 in 30s\n`, L3(17), "'0' is not a whole number from 1 to 1000000"),
  row("restart-limit window without a unit", `${LONGRUN}restart-limit = 5 in 5\n`, L3(22), "'5' is not a duration"),
  row("restart-limit window of zero", `${LONGRUN}restart-limit = 10 in 0\n`, L3(23), "must be longer than 0"),
  row("restart on a oneshot", `${ONESHOT}restart = always\n`, L3(1), "'restart' does not apply to a oneshot"),
  row("restart policy misspelt", `${LONGRUN}restart = alway\n`, L3(11), "'alway' is not one of always, on-failure, never", "(did you mean 'always'?)"),
  // umask
  row("umask not octal", `${LONGRUN}umask = 099\n`, L3(9), "'099' is not an octal umask"),
  row("umask too short", `${LONGRUN}umask = 22\n`, L3(9), "'22' is not an octal umask"),
  // resource limits and sizes
  row("resource limit not a number", `${LONGRUN}limit-nofile = lots\n`, L3(16), "'lots' is not a whole number or 'unlimited'"),
  row("resource limit soft above hard", `${LONGRUN}limit-nofile = 10:5\n`, L3(16), "the soft limit is above the hard limit"),
  row("resource limit unlimited soft over a finite hard", `${LONGRUN}limit-nofile = unlimited:100\n`, L3(16), "the soft limit is above the hard limit"),
  row("resource limit with three parts", `${LONGRUN}limit-nofile = 1:2:3\n`, L3(16), "expected LIMIT or SOFT:HARD"),
  row("byte resource limit with a bad hard part", `${LONGRUN}limit-as = 1G:lots\n`, L3(15), "'lots' is not a size"),
  row("resource limit too large", `${LONGRUN}limit-nofile = ${"9".repeat(30)}\n`, L3(16), "too large"),
  row("resource limit name misspelt", `${LONGRUN}limit-nofle = 10\n`, L3(1), "(did you mean 'limit-nofile'?)"),
  row("size that is not one", `${LONGRUN}log-size = big\n`, L3(12), "'big' is not a size"),
  row("size with a fraction", `${LONGRUN}log-size = 1.5M\n`, L3(12), "'1.5M' is not a size"),
  row("size too large", `${LONGRUN}log-size = ${"9".repeat(30)}G\n`, L3(12), "too large"),
  row("log size below 4K", `${LONGRUN}log-size = 1K\n`, L3(12), "at least 4K"),
  row("log-keep out of range", `${LONGRUN}log-keep = 1001\n`, L3(12), "'1001' is not a whole number from 0 to 1000"),
  row("stderr value misspelt", `${LONGRUN}stderr = aprt\n`, L3(10), "'aprt' is not one of with-stdout, apart", "(did you mean 'apart'?)"),
  row("stderr value that is a log mode", `${TASK}stderr = file\n`, L3(10), "'file' is not one of with-stdout, apart"),
  row("stderr on a bundle", `${BUNDLE}stderr = apart\n`, L3(1), "'stderr' does not apply to a bundle"),
  row("boolean that is not", `${LONGRUN}no-new-privileges = perhaps\n`, L3(21), "'perhaps' is not yes or no"),
  // accounts
  row("user name with a space", `${LONGRUN}user = bad name!\n`, L3(8), "'bad name!' is not a valid user or group name or number"),
  row("group name starting with '-'", `${LONGRUN}user = daemon\ngroup = -wheel\n`, `${FILE}:4:9`, "'-wheel' is not a valid user or group name"),
  row("user name longer than 32", `${LONGRUN}user = ${"u".repeat(33)}\n`, L3(8), "is not a valid user or group name"),
  // environment
  row("env without '='", `${LONGRUN}env = NOEQUALS\n`, L3(7), "expected NAME=VALUE, found 'NOEQUALS'"),
  row("env with a bad name", `${LONGRUN}env = 1BAD=x\n`, L3(7), "'1BAD' is not a valid environment variable name"),
  row("env setting NOTIFY_SOCKET", `${LONGRUN}env = NOTIFY_SOCKET=/x\n`, L3(7), "'NOTIFY_SOCKET' is set by tend itself"),
  row("env setting a TEND_ variable", `${LONGRUN}env = TEND_ROOT=/x\n`, L3(7), "'TEND_ROOT' is set by tend itself"),
  row("env setting LISTEN_FDS", `${LONGRUN}env = LISTEN_FDS=3\n`, L3(7), "'LISTEN_FDS' is set by tend itself"),
  row("env setting LISTEN_PID", `${LONGRUN}env = LISTEN_PID=1\n`, L3(7), "'LISTEN_PID' is set by tend itself"),
  row("env-file that is only '-'", `${LONGRUN}env-file = -\n`, L3(12), "a file name is needed here"),
  row("pass-env name with a '-'", `${LONGRUN}pass-env = FOO A-B\n`, L3(16), "'A-B' is neither a variable name nor a pattern: use NAME, PREFIX* (like AWS_*) or * alone"),
  row("pass-env pattern with '*' first", `${LONGRUN}pass-env = *_KEY\n`, L3(12), "'*_KEY' is neither a variable name nor a pattern"),
  row("pass-env pattern with a second '*'", `${LONGRUN}pass-env = AWS_**\n`, L3(12), "'AWS_**' is neither"),
  row("pass-env name starting with a digit", `${TASK}pass-env = \\\n  OK 1X\n`, `${FILE}:4:6`, "'1X' is neither"),
  row("pass-env of TEND_SERVICE", `${LONGRUN}pass-env = TEND_SERVICE\n`, L3(12), "'TEND_SERVICE' is set by tend itself and cannot be passed in"),
  row("pass-env of NOTIFY_SOCKET", `${ONESHOT}pass-env = PATH NOTIFY_SOCKET\n`, L3(17), "'NOTIFY_SOCKET' is set by tend itself"),
  row("pass-env of LISTEN_FDS", `${LONGRUN}pass-env = LISTEN_FDS\n`, L3(12), "'LISTEN_FDS' is set by tend itself"),
  row("pass-env of a TEND_ variable", `${LONGRUN}pass-env = TEND_KEEPER\n`, L3(12), "'TEND_KEEPER' is set by tend itself"),
  row("pass-env on a bundle", `${BUNDLE}pass-env = FOO\n`, L3(1), "'pass-env' does not apply to a bundle"),
  // keys on the wrong type
  row("command on a bundle", `${BUNDLE}command = /bin/true\n`, L3(1), "'command' does not apply to a bundle: a bundle only names other services (use 'contents')"),
  row("start-on on a bundle", `${BUNDLE}start-on = go\n`, L3(1), "'start-on' does not apply to a bundle"),
  row("requires on a bundle", `${BUNDLE}requires = b\n`, L3(1), "'requires' does not apply to a bundle"),
  row("contents on a longrun", `${LONGRUN}contents = a\n`, L3(1), "'contents' does not apply to a longrun; it applies to bundle"),
  row("up on a longrun", `${LONGRUN}up = /bin/true\n`, L3(1), "'up' does not apply to a longrun"),
  row("command on a oneshot", `${ONESHOT}command = /bin/true\n`, L3(1), "'command' does not apply to a oneshot"),
  row("schedule on a longrun", `${LONGRUN}schedule = every 1h\n`, L3(1), "'schedule' does not apply to a longrun"),
  // types and required keys
  row("missing type", "command = /bin/true\n", FILE, "missing 'type'"),
  row("misspelt type", "type = longrn\ncommand = /bin/true\n", `${FILE}:1:8`, "'longrn' is not a service type", "(did you mean 'longrun'?)"),
  row("unknown type, nothing close", "command = /bin/true\ntype   =   service\n", `${FILE}:2:12`, "'service' is not a service type; use longrun, oneshot, task or bundle"),
  row("longrun without command", "type = longrun\n", FILE, "a longrun needs 'command': the program to run in the foreground"),
  row("task without command", "type = task\n", FILE, "a task needs 'command'"),
  row("oneshot without up", "type = oneshot\ndown = /bin/true\n", FILE, "a oneshot needs 'up'"),
  row("service name in a list that is not one", `${LONGRUN}requires = db bad/name\n`, L3(15), "'bad/name' is not a valid service name"),
  // schedules, catch-up, instances
  row("catch-up without schedule", `${TASK}catch-up = yes\n`, `${FILE}:3`, "'catch-up' needs a 'schedule'"),
  row("catch-up with a delay schedule", `${TASK}catch-up = yes\nschedule = 5m after started db\n`, `${FILE}:3`, "'catch-up' applies to clock schedules"),
  row("catch-up with a schedule after the boot", `${TASK}catch-up = yes\nschedule = 5m after boot\n`, `${FILE}:3`, "not to a schedule after the boot"),
  row("interval after the boot under a second", `${TASK}schedule = every 1ms from 5m after boot\n`, L3(18), "an interval must be at least 1s"),
  row("delay after the boot that is not a duration", `${TASK}schedule = every 1h from soon after boot\n`, L3(26), "'soon' is not a duration"),
  row("instance without start-on", `${TASK}instance = DEVNAME\n`, `${FILE}:3`, "'instance = DEVNAME' needs a 'start-on' event that carries DEVNAME"),
  row("instance key that is not a name", `${TASK}start-on = ev\ninstance = DEV-NAME\n`, `${FILE}:4:12`, "'DEV-NAME' is not an event key name"),
  row("cron with an out-of-range minute", `${TASK}schedule = 60 * * * *\n`, L3(12), "'60 * * * *' is not a schedule", "minute"),
  row("cron with too many fields", `${TASK}schedule = * * * * * * *\n`, L3(12), "is not a schedule", "7 parts"),
  row("schedule that is words", `${TASK}schedule = sometimes\n`, L3(12), "'sometimes' is not a schedule"),
  row("interval under a second", `${TASK}schedule = every 500ms\n`, L3(18), "an interval must be at least 1s"),
  row("interval that is not a duration", `${TASK}schedule = every y\n`, L3(18), "'y' is not a duration"),
  row("interval beyond 100 years", `${TASK}schedule = every 40000d\n`, L3(18), "'40000d' is too long a duration"),
  row("delay beyond 100 years", `${TASK}schedule = 40000d after started x\n`, L3(12), "'40000d' is too long a duration"),
  row("delay that is not a duration", `${TASK}schedule = 5x after started db\n`, L3(12), "'5x' is not a duration"),
  row("delay after a job verb without a name", `${TASK}schedule = 5m after started\n`, L3(21), "'started' must be followed by a service name"),
  // start-on / stop-on
  row("condition with an unclosed '('", `${LONGRUN}start-on = (a and b\n`, L3(12), "expected ')' to close the '(' here"),
  row("condition with a stray ')'", `${LONGRUN}start-on = a and b)\n`, L3(19), "unexpected ')'"),
  row("condition with empty parentheses", `${LONGRUN}start-on = ()\n`, L3(13), "unexpected ')'"),
  row("condition ending in 'and'", `${LONGRUN}start-on = a and\n`, L3(17), "the condition ends too early"),
  row("condition ending in 'or'", `${LONGRUN}stop-on = a or\n`, L3(15), "the condition ends too early"),
  row("condition starting with 'or'", `${LONGRUN}start-on = or a\n`, L3(12), "unexpected 'or'"),
  row("two conditions not joined", `${LONGRUN}start-on = net.eth0=up eth1\n`, L3(24), "unexpected 'eth1': join conditions with 'and' or 'or'"),
  row("job verb alone", `${LONGRUN}start-on = started\n`, L3(12), "'started' must be followed by a service name"),
  row("job verb followed by 'and'", `${LONGRUN}start-on = stopping and x\n`, L3(21), "'stopping' must be followed by a service name"),
  row("job verb with a bad service name", `${LONGRUN}start-on = started bad/name\n`, L3(20), "'bad/name' is not a valid service name"),
  row("bad event name", `${LONGRUN}start-on = $boot\n`, L3(12), "'$boot' is not a valid event name"),
  row("bad level name", `${LONGRUN}start-on = =up\n`, L3(12), "'' is not a valid level name"),
  row("unterminated quote in a condition", `${LONGRUN}start-on = ev X='a b\n`, L3(17), "unterminated quote"),
  row("bad event key", `${LONGRUN}start-on = ev 1X=y\n`, L3(15), "'1X' is not a valid event key"),
  row("event key matched twice", `${LONGRUN}start-on = ev X=1 X=2\n`, L3(19), "'X' is matched twice"),
  row("unclosed '[' in a pattern", `${LONGRUN}stop-on = ev X=a[bc\n`, L3(17), "unclosed '[' in pattern"),
  row("pattern with a reversed range", `${LONGRUN}start-on = ev X=[z-a]\n`, L3(17), "pattern"),
  // commands
  row("unterminated double quote in a command", "type = longrun\ncommand = /bin/echo \"oops\n", `${FILE}:2:21`, "unterminated double quote"),
  row("unterminated single quote in a command", "type = task\ncommand = sh -c 'echo\n", `${FILE}:2:17`, "unterminated single quote"),
  row("unterminated quote in pre-start", `${LONGRUN}pre-start = /bin/x 'y\n`, L3(20), "unterminated single quote"),
  row("unterminated quote in down", `${ONESHOT}down = /bin/x "y\n`, L3(15), "unterminated double quote"),
  row("command of only blanks in quotes", "type = longrun\ncommand = ''\n", `${FILE}:2:11`, "a command is needed here"),
  row("a variable as the program", "type = longrun\ncommand = $DAEMON -f\n", `${FILE}:2:11`, "the program cannot come from a variable ('$DAEMON')"),
  row("a variable inside the program", "type = oneshot\nup = /opt/${V}/bin/up\n", `${FILE}:2:11`, "the program cannot come from a variable ('$V')"),
  row("an unclosed '${' in a command", "type = longrun\ncommand = /bin/echo x${A\n", `${FILE}:2:22`, "'${' is not closed"),
  row("'${…}' around what is not a name", "type = task\ncommand = /bin/echo ${A:-x}\n", `${FILE}:2:21`, "'${A:-x}' is not a variable"),
  row("a variable as the probe's program", `${LONGRUN}ready = exec:$PROBE\n`, L3(14), "the program cannot come from a variable"),
  // directories
  row("an absolute directory name", `${LONGRUN}runtime-directory = /run/x\n`, L3(21), "'/run/x' is an absolute path"),
  row("a directory name with '..'", `${LONGRUN}state-directory = a ../b\n`, L3(21), "'../b' has a '..' part"),
  row("a directory name with an empty part", `${LONGRUN}cache-directory = a//b\n`, L3(19), "'a//b' has an empty part"),
  row("a directory name with ':'", `${LONGRUN}cache-directory = a:b\n`, L3(19), "holds a ':'"),
  row("a directory under 'tend'", `${LONGRUN}logs-directory = tend/x\n`, L3(18), "tend keeps its own files under 'tend'"),
  row("two directories one inside the other", `${LONGRUN}runtime-directory = a\nruntime-directory = a/b\n`, `${FILE}:4:21`, "'a/b' and 'a' are one inside the other"),
  row("a directory mode that is not octal", `${LONGRUN}runtime-directory = x\nruntime-directory-mode = 0855\n`, `${FILE}:4:26`, "'0855' is not an octal mode"),
  row("a set-user-id directory mode", `${LONGRUN}runtime-directory = x\nruntime-directory-mode = 04755\n`, `${FILE}:4:26`, "set-user-id bit (4000), which means nothing on a directory: leave it out (0755)"),
  row("a directory mode of five digits not led by 0", `${LONGRUN}runtime-directory = x\nruntime-directory-mode = 12755\n`, `${FILE}:4:26`, "'12755' is not an octal mode"),
  row("a directory key on a bundle", `${BUNDLE}state-directory = x\n`, L3(1), "'state-directory' does not apply to a bundle"),
];

describe("each validation error is reported once, at its place", () => {
  for (const r of ROWS) {
    test(r.name, () => {
      const { diagnostics } = parse(r.text);
      assertOneError(diagnostics, r.at, ...r.parts);
    });
  }
});

describe("readiness specs that are accepted", () => {
  const GOOD: [string, unknown][] = [
    ["none", { kind: "none" }],
    ["fd", { kind: "fd", fd: 3 }],
    ["fd:3", { kind: "fd", fd: 3 }],
    ["fd:1023", { kind: "fd", fd: 1023 }],
    ["notify", { kind: "notify" }],
    ["tcp:127.0.0.1:80", { kind: "tcp", host: "127.0.0.1", port: 80 }],
    ["tcp:localhost:65535", { kind: "tcp", host: "localhost", port: 65535 }],
    ["tcp:[::1]:8080", { kind: "tcp", host: "::1", port: 8080 }],
    ["unix:/run/app.sock", { kind: "unix", path: "/run/app.sock" }],
    ["unix-dgram:/dev/log", { kind: "unix-dgram", path: "/dev/log" }],
    ["exec:test -S /run/app.sock", { kind: "exec", argv: ["test", "-S", "/run/app.sock"] }],
    [`exec:/bin/probe "a b" 'c'`, { kind: "exec", argv: ["/bin/probe", "a b", "c"] }],
  ];
  for (const [spec, expected] of GOOD) {
    test(`ready = ${spec}`, () => {
      const { parsed, diagnostics } = parse(`${LONGRUN}ready = ${spec}\n`);
      assert.deepEqual(diagnostics, [], show(diagnostics));
      assert.deepEqual(parsed?.def.ready, expected);
    });
  }
});

describe("values that are accepted", () => {
  test("a full longrun", () => {
    const { parsed, diagnostics } = parse(
      [
        "# a comment",
        "description = the web server",
        "type        = longrun",
        'command     = /usr/sbin/nginx -g "daemon off;"',
        "requires    = network syslog",
        "requires    = db",
        "wants       = cache",
        "after       = clock",
        "before      = clients",
        "ready       = tcp:127.0.0.1:80",
        "user        = www-data",
        "group       = 33",
        "restart     = always",
        "restart-delay = 1s",
        "restart-delay-max = 1m30s",
        "restart-limit = 3 in 1m",
        "stop-signal = QUIT",
        "stop-timeout = infinity",
        "start-timeout = 500ms",
        "success-exit = 0 143 SIGTERM",
        "env         = GREETING=hello = world",
        "env         = EMPTY=",
        "env-file    = -/etc/default/web",
        "env-file    = web.env",
        "cwd         = data",
        "umask       = 0027",
        "limit-nofile = 1024:4096",
        "limit-as    = 512M:unlimited",
        "limit-core  = unlimited",
        "no-new-privileges = yes",
        "log         = stdout",
        "log-size    = 10M",
        "log-keep    = 3",
        "start-on    = net.eth0=up and (started db or block-added DEVNAME=/dev/sd*)",
        "stop-on     = net.eth0=down",
        "",
      ].join("\n"),
      "web",
      "/etc/tend/web",
    );
    assert.deepEqual(diagnostics, [], show(diagnostics));
    const def = parsed!.def;
    assert.equal(def.name, "web");
    assert.equal(def.description, "the web server");
    assert.deepEqual(def.command, ["/usr/sbin/nginx", "-g", "daemon off;"]);
    assert.deepEqual(
      def.requires.map((r) => [r.name, r.line, r.col]),
      [
        ["network", 5, 15],
        ["syslog", 5, 23],
        ["db", 6, 15],
      ],
    );
    assert.deepEqual(def.wants.map((r) => r.name), ["cache"]);
    assert.deepEqual(def.after.map((r) => r.name), ["clock"]);
    assert.deepEqual(def.before.map((r) => r.name), ["clients"]);
    assert.deepEqual(def.ready, { kind: "tcp", host: "127.0.0.1", port: 80 });
    assert.equal(def.user, "www-data");
    assert.equal(def.group, "33");
    assert.equal(def.restart, "always");
    assert.equal(def.restartDelayMs, 1000);
    assert.equal(def.restartDelayMaxMs, 90_000);
    assert.deepEqual(def.restartLimit, { count: 3, windowMs: 60_000 });
    assert.equal(def.stopSignal, "SIGQUIT");
    assert.equal(def.stopTimeoutMs, null);
    assert.equal(def.startTimeoutMs, 500);
    assert.deepEqual(def.successExit, [0, 143, "SIGTERM"]);
    assert.deepEqual(plain(def.env), { GREETING: "hello = world", EMPTY: "" });
    assert.deepEqual(def.envFiles, [
      { path: "/etc/default/web", optional: true },
      { path: "/etc/tend/web.env", optional: false },
    ]);
    assert.equal(def.cwd, "/etc/tend/data");
    assert.equal(def.umask, 0o027);
    assert.deepEqual(plain(def.limits), {
      nofile: { soft: 1024, hard: 4096 },
      as: { soft: 512 * 1024 * 1024, hard: null },
      core: { soft: null, hard: null },
    });
    assert.equal(def.noNewPrivileges, true);
    assert.equal(def.log, "stdout");
    assert.equal(def.logMaxBytes, 10 * 1024 * 1024);
    assert.equal(def.logKeep, 3);
    assert.deepEqual(plain(def.startOn), {
      kind: "and",
      of: [
        { kind: "level", name: "net.eth0", value: "up" },
        {
          kind: "or",
          of: [
            { kind: "job", verb: "started", service: "db", match: {} },
            { kind: "event", name: "block-added", match: { DEVNAME: "/dev/sd*" } },
          ],
        },
      ],
    });
    assert.deepEqual(plain(def.stopOn), { kind: "level", name: "net.eth0", value: "down" });
    assert.deepEqual(
      parsed!.conditionRefs.map((r) => [r.name, r.line, r.col]),
      [["db", 34, 40]],
    );
  });

  test("defaults depend on the type", () => {
    const longrun = parse(LONGRUN).parsed!.def;
    assert.equal(longrun.restart, "on-failure");
    assert.equal(longrun.startTimeoutMs, 60_000);
    assert.deepEqual(longrun.ready, { kind: "none" });
    const task = parse(TASK).parsed!.def;
    assert.equal(task.restart, "never");
    assert.equal(task.startTimeoutMs, null);
  });

  test("a task with every kind of schedule", () => {
    const every = parse(`${TASK}schedule = every 1h30m\ncatch-up = yes\n`);
    assert.deepEqual(every.diagnostics, [], show(every.diagnostics));
    assert.deepEqual(every.parsed!.def.schedule, { kind: "every", intervalMs: 5_400_000 });
    assert.equal(every.parsed!.def.catchUp, true);

    const cron = parse(`${TASK}schedule = 0 3 * * 1-5\ncatch-up = yes\n`);
    assert.deepEqual(cron.diagnostics, [], show(cron.diagnostics));
    assert.deepEqual(cron.parsed!.def.schedule, { kind: "cron", expression: "0 3 * * 1-5" });

    const hourly = parse(`${TASK}schedule = @hourly\n`);
    assert.deepEqual(hourly.diagnostics, []);

    const boot = parse(`${TASK}schedule = 15m after boot\n`);
    assert.deepEqual(boot.diagnostics, [], show(boot.diagnostics));
    assert.deepEqual(boot.parsed!.def.schedule, { kind: "boot", delayMs: 900_000, intervalMs: null });
    const daily = parse(`${TASK}schedule = every 1d from 15m after boot\n`);
    assert.deepEqual(daily.parsed!.def.schedule, { kind: "boot", delayMs: 900_000, intervalMs: 86_400_000 });
    assert.deepEqual(parse(`${TASK}schedule = @reboot\n`).parsed!.def.schedule, { kind: "boot", delayMs: 0, intervalMs: null }, "cron's @reboot");

    const after = parse(`${TASK}schedule = 30s after started web\ninstance = X\n`);
    assert.deepEqual(after.diagnostics, [], show(after.diagnostics));
    assert.deepEqual(plain(after.parsed!.def.schedule), {
      kind: "after",
      delayMs: 30_000,
      event: { kind: "job", verb: "started", service: "web", match: {} },
    });
    // The service a delay waits for is a reference, at its own column.
    assert.deepEqual(after.parsed!.conditionRefs, [{ name: "web", line: 3, col: 30 }]);
  });

  test("a oneshot and a bundle", () => {
    const oneshot = parse(`${ONESHOT}down = /bin/sh -c 'echo down'\nrequires = a\n`);
    assert.deepEqual(oneshot.diagnostics, [], show(oneshot.diagnostics));
    assert.deepEqual(oneshot.parsed!.def.down, ["/bin/sh", "-c", "echo down"]);
    const bundle = parse("type = bundle\ncontents = a b\ncontents = c\n");
    assert.deepEqual(bundle.diagnostics, [], show(bundle.diagnostics));
    assert.deepEqual(bundle.parsed!.def.contents.map((r) => r.name), ["a", "b", "c"]);
  });

  test("an empty description is allowed; an empty bundle is only warned about", () => {
    const { diagnostics } = parse("type = bundle\ndescription =\n");
    assert.equal(diagnostics.length, 1, show(diagnostics));
    assertHas(diagnostics, "warning", FILE, "a bundle needs 'contents'");
  });

  test("signals in every spelling", () => {
    for (const spelling of ["TERM", "SIGTERM", "sigterm", "term", "15"]) {
      const { parsed, diagnostics } = parse(`${LONGRUN}stop-signal = ${spelling}\n`);
      assert.deepEqual(diagnostics, [], spelling);
      assert.equal(parsed!.def.stopSignal, "SIGTERM");
    }
  });

  test("stderr: with-stdout by default, apart on a pipe of its own, for every type that runs a process", () => {
    for (const base of [LONGRUN, ONESHOT, TASK]) {
      assert.equal(parse(base).parsed!.def.stderr, "with-stdout");
      for (const value of ["with-stdout", "apart"]) {
        const { parsed, diagnostics } = parse(`${base}stderr = ${value}\n`);
        assert.deepEqual(diagnostics, [], show(diagnostics));
        assert.equal(parsed!.def.stderr, value);
      }
    }
  });

  test("directories: names of each kind and their modes, in one order whatever the file's", () => {
    const { parsed, diagnostics } = parse(
      `${LONGRUN}state-directory = b\nruntime-directory = sshd postgresql/15-main\nruntime-directory = other\nruntime-directory-mode = 0750\nlogs-directory-mode = 02750\nlogs-directory = nginx\ncache-directory = c\ncache-directory-mode = 1777\n`,
    );
    assert.deepEqual(diagnostics, [], show(diagnostics));
    const { directories } = parsed!.def;
    assert.deepEqual(plain(directories), {
      runtime: { names: ["sshd", "postgresql/15-main", "other"], mode: 0o750 },
      state: { names: ["b"], mode: 0o755 },
      cache: { names: ["c"], mode: 0o1777 },
      logs: { names: ["nginx"], mode: 0o2750 },
    });
    assert.deepEqual(Object.keys(directories), ["runtime", "state", "cache", "logs"]);
  });

  test("a directory named twice, or a mode without its directory, is a warning", () => {
    const { parsed, diagnostics } = parse(`${LONGRUN}runtime-directory = a b a\ncache-directory-mode = 0700\n`);
    assert.equal(diagnostics.length, 2, show(diagnostics));
    assertHas(diagnostics, "warning", `${FILE}:3:25`, "'a' is listed twice in 'runtime-directory'");
    assertHas(diagnostics, "warning", `${FILE}:4`, "'cache-directory-mode' without 'cache-directory' applies to nothing");
    assert.deepEqual(plain(parsed!.def.directories), { runtime: { names: ["a", "b"], mode: 0o755 } });
  });

  test("reload: a command, or a signal to the main process, and a timeout (infinity: none)", () => {
    assert.deepEqual(pick(parse(LONGRUN).parsed!.def), { reload: null, reloadSignal: null, reloadTimeoutMs: 60_000 });
    const command = parse(`${LONGRUN}reload = /bin/kill -HUP $MAINPID\nreload-timeout = infinity\n`);
    assert.deepEqual(command.diagnostics, [], show(command.diagnostics));
    assert.deepEqual(pick(command.parsed!.def), { reload: ["/bin/kill", "-HUP", "$MAINPID"], reloadSignal: null, reloadTimeoutMs: null });
    const signal = parse(`${LONGRUN}reload-signal = usr1\nreload-timeout = 5s\n`);
    assert.deepEqual(pick(signal.parsed!.def), { reload: null, reloadSignal: "SIGUSR1", reloadTimeoutMs: 5000 });
    const alone = parse(`${LONGRUN}reload-timeout = 5s\n`);
    assertHas(alone.diagnostics, "warning", `${FILE}:3`, "'reload-timeout' applies to a 'reload' or 'reload-signal', and there is neither");
  });

  test("restart-limit none", () => {
    const { parsed, diagnostics } = parse(`${LONGRUN}restart-limit = none\n`);
    assert.deepEqual(diagnostics, []);
    assert.equal(parsed!.def.restartLimit, null);
  });
});

describe("errors that come with others, and warnings", () => {
  test("every error of a file is reported, in file order", () => {
    const { errors } = parse("type = longrun\nrestrat = always\nstop-signal = TERN\numask = 9\ncommand = /bin/true\n");
    assert.deepEqual(
      errors.map((d) => `${d.line}:${d.col}`),
      ["2:1", "3:15", "4:9"],
    );
  });

  test("a bad type still checks the other values, and yields no service", () => {
    const { parsed, errors } = parse("type = daemon\ncommand = /bin/true\nstop-timeout = 10\n");
    assert.equal(parsed, null);
    assert.deepEqual(
      errors.map((d) => `${d.line}:${d.col}`),
      ["1:8", "3:16"],
    );
  });

  test("a missing type yields no service", () => {
    const { parsed, errors } = parse("command = /bin/true\n");
    assert.equal(parsed, null);
    assert.equal(errors.length, 1);
  });

  test("two bad exit statuses are two errors, each at its word", () => {
    const { errors } = parse(`${LONGRUN}success-exit = 0 SIGFOO 256\n`);
    assert.deepEqual(
      errors.map((d) => `${d.line}:${d.col}`),
      ["3:18", "3:25"],
    );
  });

  test("an env variable set twice is a warning", () => {
    const { diagnostics, parsed } = parse(`${LONGRUN}env = A=1\nenv = A=2\n`);
    assert.equal(diagnostics.length, 1, show(diagnostics));
    assertHas(diagnostics, "warning", `${FILE}:4:7`, "'A' is set again here; the last value wins");
    assert.equal(parsed!.def.env.A, "2");
  });

  test("pass-env takes names and patterns, several a line, and repeats", () => {
    const { diagnostics, parsed } = parse(`${LONGRUN}pass-env = FOO BAR_*\npass-env = PATH _x9\npass-env = *\n`);
    assert.deepEqual(diagnostics, [], show(diagnostics));
    assert.deepEqual(parsed!.def.passEnv, ["FOO", "BAR_*", "PATH", "_x9", "*"]);
    assert.deepEqual(parse(LONGRUN).parsed!.def.passEnv, []);
  });

  test("a pass-env name listed twice is a warning at the second", () => {
    const { diagnostics, parsed } = parse(`${LONGRUN}pass-env = AWS_* HOME\npass-env = AWS_*\n`);
    assert.equal(diagnostics.length, 1, show(diagnostics));
    assertHas(diagnostics, "warning", `${FILE}:4:12`, "'AWS_*' is listed twice in 'pass-env'");
    assert.deepEqual(parsed!.def.passEnv, ["AWS_*", "HOME"]);
  });

  test("a name listed twice is a warning at the second", () => {
    const { diagnostics, parsed } = parse(`${LONGRUN}requires = db web \\\n  db\n`);
    assert.equal(diagnostics.length, 1, show(diagnostics));
    assertHas(diagnostics, "warning", `${FILE}:4:3`, "'db' is listed twice in 'requires'");
    assert.deepEqual(parsed!.def.requires.map((r) => r.name), ["db", "web"]);
  });

  test("group without user is a warning", () => {
    const { diagnostics } = parse(`${LONGRUN}group = daemon\n`);
    assert.equal(diagnostics.length, 1, show(diagnostics));
    assertHas(diagnostics, "warning", `${FILE}:3`, "'group' without 'user'");
  });

  test("a name both required and wanted is a warning", () => {
    const { diagnostics } = parse(`${LONGRUN}requires = db\nwants = db\n`);
    assert.equal(diagnostics.length, 1, show(diagnostics));
    assertHas(diagnostics, "warning", `${FILE}:3`, "'db' is both required and wanted");
  });
});
