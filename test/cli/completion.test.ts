// Shell completion: `tend __complete` (commands and options from the table, service and
// level names from the server), and the bash and zsh scripts of contrib/completion/
// loaded into real shells, called as the shell would call them.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS, GLOBAL_OPTIONS, type CommandSpec } from "../../src/cli/commands.js";
import { childEnv, REPO, runTend, tempDir, withTemp } from "../helpers.js";
import { withRoot, type TestRoot } from "../server/harness.js";

const LONG = { timeout: 90_000 };
const VISIBLE = Object.entries(COMMANDS as Record<string, CommandSpec>)
  .filter(([, c]) => c.hidden !== true)
  .map(([n]) => n);

/** The commands users see that start with `prefix`, in the table's order. */
const starting = (prefix: string): string[] => VISIBLE.filter((n) => n.startsWith(prefix));

/** The candidates `tend __complete` prints for a command line (without descriptions). */
function complete(...words: string[]): string[] {
  const r = runTend(["__complete", "--", ...words]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  return r.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0]!);
}

const SERVICES = {
  web: "type = longrun\ncommand = sleep 1000\n",
  worker: "type = longrun\ncommand = sleep 1000\n",
  db: "type = longrun\ncommand = sleep 1000\n",
  app: "type = bundle\ncontents = web worker\n",
};

/** Runs `body` with a server for a root holding SERVICES, and a level set. */
async function withServer(body: (root: TestRoot) => Promise<void>): Promise<void> {
  await withRoot(async (root) => {
    root.services(SERVICES);
    assert.equal((await root.compile()).status, 0);
    const daemon = await root.startDaemon();
    assert.equal((await root.tend("set", "net.eth0", "up")).status, 0);
    try {
      await body(root);
    } finally {
      await root.shutdown(daemon);
    }
  });
}

describe("tend __complete", () => {
  test("commands, options of the command, option values, directories, signals", () => {
    assert.deepEqual(complete(""), VISIBLE);
    assert.deepEqual(complete("st"), starting("st"));
    for (const name of ["logs", "start", "list"] as const) {
      assert.deepEqual(complete(name, "--"), [...COMMANDS[name].options, ...GLOBAL_OPTIONS].map((o) => `--${o}`), name);
    }
    assert.ok(complete("logs", "--").includes("--follow"));
    assert.deepEqual(complete("logs", "--fo"), ["--follow"]);
    assert.deepEqual(complete("--json", "boot", "--log-format", ""), ["text", "json"]);
    assert.deepEqual(complete("daemon", "--on-boot-failure", "s"), ["stop"]);
    assert.deepEqual(complete("boot", "--syslog", "--json", "--comp"), ["--compile"], "an optional value is not the next word");
    assert.deepEqual(complete("check", ""), [":directories"]);
    assert.deepEqual(complete("--root", ""), [":directories"]);
    assert.deepEqual(complete("help", "re"), starting("re"));
    assert.ok(complete("signal", "web", "").includes("HUP"));
    assert.deepEqual(complete("signal", "web", "US"), ["USR1", "USR2"]);
    assert.deepEqual(complete("list", ""), [], "list takes no operand");
    assert.deepEqual(complete("logs", "-n", ""), [], "a number is not completed");
    assert.deepEqual(complete("nosuch", ""), []);
    assert.ok(!complete("").includes("__complete"), "the hidden command is not offered");
  });

  test("without a server: no names, nothing on stderr, quickly", () => {
    withTemp((dir) => {
      const started = Date.now();
      assert.deepEqual(complete("--root", dir, "start", ""), []);
      assert.deepEqual(complete("--root", dir, "unset", ""), []);
      assert.ok(Date.now() - started < 10_000);
    });
  });

  test("service and level names come from the running server of the line's root", LONG, () =>
    withServer(async (root) => {
      assert.deepEqual(complete("--root", root.dir, "start", ""), ["app", "db", "web", "worker"]);
      assert.deepEqual(complete("start", "--root", root.dir, "w"), ["web", "worker"]);
      assert.deepEqual(complete("--root=" + root.dir, "logs", "d"), ["db"]);
      assert.deepEqual(complete("--root", root.dir, "stop", "web", ""), ["app", "db", "web", "worker"], "NAME… repeats");
      assert.deepEqual(complete("--root", root.dir, "why", "web", ""), [], "why takes one name");
      assert.deepEqual(complete("--root", root.dir, "unset", ""), ["net.eth0"]);
      assert.deepEqual(complete("--root", root.dir, "boot", "--exit-with", "d"), ["db"]);
    }),
  );
});

/** Runs async `body` with a temporary directory, removed once it has settled. */
async function withTempAsync(body: (dir: string) => Promise<void>): Promise<void> {
  const { dir, remove } = tempDir();
  try {
    await body(dir);
  } finally {
    remove();
  }
}

/** A directory whose `tend` runs this checkout's, for a PATH: as an installed tend would be found. */
function tendOnPath(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin);
  symlinkSync(join(REPO, "bin/tend"), join(bin, "tend"));
  return `${bin}:${process.env.PATH}`;
}

function shell(program: string, script: string, path: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, ["-c", script], { cwd: REPO, env: childEnv({ PATH: path }), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const has = (program: string): boolean => spawnSync(program, ["-c", "exit 0"]).status === 0;
const quote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;

describe("bash", () => {
  /** What the completion function of contrib/completion/tend.bash offers for `words`, the cursor on the last. */
  const bash = (path: string, words: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    shell(
      "bash",
      [
        "source contrib/completion/tend.bash",
        "complete -p tend",
        `COMP_WORDS=(${["tend", ...words].map(quote).join(" ")}); COMP_CWORD=${words.length}`,
        "_tend",
        `printf '%s\\n' "\${COMPREPLY[@]}"`,
      ].join("\n"),
      path,
    );

  test("complete -p names the function; it offers commands, options, directories and the server's names", { ...LONG, skip: has("bash") ? false : "bash is not installed" }, () =>
    withTempAsync(async (dir) => {
      const path = tendOnPath(dir);
      const commands = await bash(path, ["re"]);
      assert.equal(commands.status, 0, commands.stderr);
      assert.equal(commands.stderr, "");
      assert.deepEqual(commands.stdout.split("\n"), ["complete -F _tend tend", ...starting("re"), ""]);
      assert.deepEqual((await bash(path, ["logs", "--f"])).stdout.split("\n").slice(1), ["--follow", ""]);
      mkdirSync(join(dir, "services"));
      assert.deepEqual((await bash(path, ["check", join(dir, "ser")])).stdout.split("\n").slice(1), [join(dir, "services"), ""]);
      await withServer(async (root) => {
        const names = await bash(path, ["--root", root.dir, "restart", "w"]);
        assert.deepEqual(names.stdout.split("\n").slice(1), ["web", "worker", ""], names.stderr);
      });
    }),
  );
});

describe("zsh", () => {
  const zsh = (path: string, script: string) =>
    shell("zsh", ["fpath=(contrib/completion $fpath)", "autoload -Uz compinit && compinit -u -D", script].join("\n"), path);

  test("#compdef registers _tend for tend; it hands the candidates, with their descriptions, to _describe", { ...LONG, skip: has("zsh") ? false : "zsh is not installed" }, () =>
    withTempAsync(async (dir) => {
      const path = tendOnPath(dir);
      const registered = await zsh(path, "print -r -- $_comps[tend]");
      assert.equal(registered.stdout, "_tend\n", registered.stderr);
      // Outside a completion widget compadd cannot run: _describe and _directories print what they were given.
      const stubs = "_describe() { print -rl -- ${(P)${@[-1]}} }; _directories() { print -r -- DIRECTORIES }";
      const call = (words: string[]) => zsh(path, `${stubs}\nwords=(${["tend", ...words].map(quote).join(" ")}); CURRENT=${words.length + 1}\n_tend`);
      const commands = await call(["re"]);
      assert.equal(commands.stderr, "");
      assert.deepEqual(commands.stdout.split("\n"), [...starting("re").map((n) => `${n}:${(COMMANDS as Record<string, CommandSpec>)[n]!.summary}`), ""]);
      assert.equal((await call(["check", ""])).stdout, "DIRECTORIES\n");
      await withServer(async (root) => {
        const names = await call(["--root", root.dir, "logs", ""]);
        assert.deepEqual(names.stdout.split("\n"), ["app", "db", "web", "worker", ""], names.stderr);
      });
    }),
  );
});
