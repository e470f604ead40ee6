// Command lines: the split into template words (shell-like quoting, where each
// variable stands), the checks of a command's program, and the expansion the server
// makes from a service's environment (systemd's ExecStart rules).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { expandArgv, isTemplate, joinArgv, literalOf, literalTemplate, parseCommand, splitArgv } from "../../src/config/argv.js";
import { random } from "../helpers.js";

/** The words `text` gives a process whose environment is `env`. */
const run = (text: string, env: Record<string, string> = {}): string[] => {
  const split = splitArgv(text);
  assert.ok(split.ok, split.ok ? "" : split.message);
  return expandArgv(split.argv, env);
};

describe("splitting", () => {
  test("quotes like a POSIX shell; a literal '$' is stored as '$$'", () => {
    assert.deepEqual(splitArgv(`a 'b c' "d \\"e\\" \\$f \\x" g\\ h ''`), { ok: true, argv: ["a", "b c", 'd "e" $$f \\x', "g h", ""], expansions: [] });
    assert.deepEqual(run(`a 'b c' "d \\"e\\" \\$f \\x" g\\ h ''`), ["a", "b c", 'd "e" $f \\x', "g h", ""]);
    assert.deepEqual(splitArgv("  \t "), { ok: true, argv: [], expansions: [] });
    assert.deepEqual(splitArgv("a'b'\"c\"d"), { ok: true, argv: ["abcd"], expansions: [] });
  });

  test("records each variable: its word, where its '$' is, and whether it splits", () => {
    assert.deepEqual(splitArgv('sshd -D $SSHD_OPTS --x=${A}"$B"'), {
      ok: true,
      argv: ["sshd", "-D", "$SSHD_OPTS", "--x=${A}${B}"],
      expansions: [
        { word: 2, offset: 8, name: "SSHD_OPTS", split: true },
        { word: 3, offset: 23, name: "A", split: false },
        { word: 3, offset: 28, name: "B", split: false },
      ],
    });
  });

  test("errors carry the offset of the quote or of the '$'", () => {
    assert.deepEqual(splitArgv("echo 'x"), { ok: false, offset: 5, message: "unterminated single quote" });
    assert.deepEqual(splitArgv('echo "x'), { ok: false, offset: 5, message: "unterminated double quote" });
    assert.deepEqual(splitArgv("echo x\\"), { ok: false, offset: 6, message: "a '\\' at the end escapes nothing" });
    assert.deepEqual(splitArgv("echo ${A"), { ok: false, offset: 5, message: "'${' is not closed: write ${NAME}, or '$$' for a literal '$'" });
    for (const bad of ["${}", "${1A}", "${A:-x}", '"${A B}"']) {
      const r = splitArgv(`echo ${bad}`);
      assert.ok(!r.ok && r.offset === 5 + bad.indexOf("$") && r.message.includes("is not a variable"), `${bad}: ${JSON.stringify(r)}`);
    }
  });
});

describe("expansion", () => {
  const env = { OPTS: "-a  -b\t-c", EMPTY: "", SPACE: " x  y ", A: "1", B: "2" };

  test("$NAME alone as a word splits at blanks; unset or empty, the word is gone", () => {
    assert.deepEqual(run("sshd -D $OPTS -e", env), ["sshd", "-D", "-a", "-b", "-c", "-e"]);
    assert.deepEqual(run("sshd -D $UNSET $EMPTY -e", env), ["sshd", "-D", "-e"]);
    assert.deepEqual(run("echo $SPACE", env), ["echo", "x", "y"]);
  });

  test("${NAME}, a variable inside a word, and one in double quotes stay one word, whitespace and all", () => {
    assert.deepEqual(run("echo ${OPTS} --o=$OPTS \"$SPACE\" \"${UNSET}\" $A$B", env), ["echo", "-a  -b\t-c", "--o=-a  -b\t-c", " x  y ", "", "12"]);
  });

  test("single quotes, '\\$', '$$' and a '$' before no name are literal: sh -c keeps its own variables", () => {
    assert.deepEqual(run("sh -c 'echo $1 ${A} $$' x \\$A $$A a$ $1 $ $-", env), ["sh", "-c", "echo $1 ${A} $$", "x", "$A", "$A", "a$", "$1", "$", "$-"]);
    assert.deepEqual(run('sh -c "echo \\$HOME $A"', env), ["sh", "-c", "echo $HOME 1"]);
  });

  test("a value is never expanded again", () => {
    assert.deepEqual(run("echo $X ${X}", { X: "$A ${B} $$" }), ["echo", "$A", "${B}", "$$", "$A ${B} $$"]);
  });

  test("only the environment's own variables count (constructor is a name like any other)", () => {
    assert.deepEqual(run("echo ${constructor} $toString ${__proto__}x"), ["echo", "", "x"]);
    assert.deepEqual(run("echo ${constructor}", JSON.parse('{"constructor": "c"}') as Record<string, string>), ["echo", "c"]);
  });
});

describe("a command's program", () => {
  test("may not come from a variable, located at its '$'", () => {
    for (const text of ["$PROG -x", "  ${PROG}", '"/usr/bin/$P"', "/opt/${V}/bin/x"]) {
      const r = parseCommand(text);
      assert.ok(!r.ok && r.offset === text.indexOf("$") && r.message.startsWith("the program cannot come from a variable"), `${text}: ${JSON.stringify(r)}`);
    }
    assert.deepEqual(parseCommand("/bin/a$$b $X"), { ok: true, argv: ["/bin/a$$b", "$X"] });
    assert.equal(literalOf("/bin/a$$b"), "/bin/a$b");
    assert.deepEqual(parseCommand("''"), { ok: false, message: "a command is needed here" });
  });
});

describe("templates", () => {
  test("isTemplate accepts what the splitter writes, and nothing with a bare '$'", () => {
    for (const t of ["", "a", "$$", "$A", "${A}x${B}", "a$$b"]) assert.ok(isTemplate(t), t);
    for (const t of ["$", "a$b", "$1", "${", "${1}", "x$A"]) assert.ok(!isTemplate(t), t);
    assert.equal(literalOf("${A}"), null);
    assert.equal(literalOf("$A"), null);
    assert.equal(literalOf("$${A}"), "${A}");
  });

  test("joinArgv round-trips through splitArgv, variables included (property, seeded)", () => {
    const seed = 20240601;
    const rng = random(seed);
    const alphabet = ["a", "Z", "0", " ", "\t", "'", '"', "\\", "$", "`", "*", "é", "=", "-", "/", "\n", ";", "{", "}"];
    const variables = ["${A}", "${B_2}", "$$"];
    for (let i = 0; i < 2000; i++) {
      const argv = Array.from({ length: rng.int(1, 5) }, () => {
        if (rng.chance(0.1)) return "$LONE";
        return Array.from({ length: rng.int(0, 8) }, () => (rng.chance(0.2) ? rng.pick(variables) : literalTemplate(rng.pick(alphabet)))).join("");
      });
      const split = splitArgv(joinArgv(argv));
      assert.ok(split.ok, `seed ${seed}, case ${i}: ${JSON.stringify(argv)}`);
      assert.deepEqual(split.argv, argv, `seed ${seed}, case ${i}: ${JSON.stringify(argv)} as ${joinArgv(argv)}`);
    }
  });
});
