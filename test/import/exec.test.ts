// systemd's command lines into tend's: prefixes, quoting, escapes, variables, and several commands as one.

import { test } from "node:test";
import assert from "node:assert/strict";
import { sequence, splitExec, templateOf, tendCommand, type ExecLine } from "../../src/import/exec.js";
import { splitArgv } from "../../src/config/argv.js";

const line = (text: string): ExecLine => {
  const l = splitExec(text);
  assert.ok(typeof l !== "string", String(l));
  return l;
};

test("prefixes are read off the first word", () => {
  const l = line("-+/bin/x a");
  assert.deepEqual([l.ignoreFailure, l.privileged, l.argv0, l.words], [true, true, false, ["/bin/x", "a"]]);
  assert.deepEqual(line("@/bin/x name a").words, ["/bin/x", "a"], "@: the argv[0] word is left out");
  assert.equal(line(":/bin/x $A").noExpand, true);
});

test("quotes and C escapes as systemd reads them", () => {
  assert.deepEqual(line(`/bin/x "a b" 'c d' e\\ f "g\\"h" \\x41 x\\ty`).words, ["/bin/x", "a b", "c d", "e f", 'g"h', "A", "x\ty"]);
  assert.equal(splitExec(`/bin/x "open`), 'a " without its closing one');
  assert.equal(splitExec("-"), "no program");
});

test("written back, tend reads the same words, its variables still variables", () => {
  for (const text of [`/usr/sbin/nginx -g "daemon on; master_process on;" --x=$A "\${B}" 'q"uote' $$HOME`, `/bin/x a\\b "\`c\`"`]) {
    const l = line(text);
    const parsed = splitArgv(tendCommand(l));
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.argv, l.words.map(templateOf), tendCommand(l));
  }
  assert.equal(tendCommand(line("/usr/sbin/sshd -D $SSHD_OPTS")), "/usr/sbin/sshd -D $SSHD_OPTS");
  assert.deepEqual(["$A", "--x=$A", "${A}", "$$A", "a$", "$1"].map(templateOf), ["$A", "--x=${A}", "${A}", "$$A", "a$$", "$$1"], "systemd's variables as tend's templates");
  const literal = splitArgv(tendCommand(line(":/bin/echo $A")));
  assert.ok(literal.ok);
  assert.deepEqual(literal.argv, ["/bin/echo", "$$A"], "':' keeps every '$' literal");
});

test("several lines are one sh -c, in order, '-' ones allowed to fail; one alone stays as it is", () => {
  assert.equal(sequence([line("/bin/a x")]), "/bin/a x");
  assert.equal(sequence([]), null);
  const s = sequence([line("/usr/sbin/sshd -t"), line("-/bin/kill -HUP $MAINPID")]);
  const parsed = splitArgv(s!);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.argv, ["/bin/sh", "-c", "'/usr/sbin/sshd' '-t' && { '/bin/kill' '-HUP' $$MAINPID || true; }"], "sh, not tend, expands MAINPID");
});
