// The man pages: tend(1) names every command and option of the table, tend-service(5)
// every key of KEYS; what the build put in dist/man is what the sources make now; the
// roff is well-formed for groff and man; and the markdown converter, case by case.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS, GLOBAL_OPTIONS, type CommandSpec } from "../../src/cli/commands.js";
import { KEYS } from "../../src/config/keys.js";
import { manPages } from "../../src/man/pages.js";
import { escape, inline, parseMarkdown, render } from "../../src/man/roff.js";
import { REPO } from "../helpers.js";

const version = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;
const pages = manPages({ cli: readFileSync(join(REPO, "docs/cli.md"), "utf8"), serviceFiles: readFileSync(join(REPO, "docs/service-files.md"), "utf8"), version });
const tend1 = pages["tend.1"]!;
const service5 = pages["tend-service.5"]!;
const VISIBLE = Object.entries(COMMANDS as Record<string, CommandSpec>).filter(([, c]) => c.hidden !== true);

/** A section of a page, from `.SH TITLE` to the next `.SH`. */
function section(page: string, title: string): string {
  const start = page.indexOf(`\n.SH ${title}\n`);
  assert.ok(start >= 0, `no section ${title}`);
  const end = page.indexOf("\n.SH ", start + 1);
  return page.slice(start, end < 0 ? undefined : end);
}

const has = (program: string): boolean => spawnSync(program, ["--version"], { encoding: "utf8" }).status === 0;

describe("tend(1)", () => {
  test("names every command with its usage and help, and every option of each", () => {
    const commands = section(tend1, "COMMANDS");
    for (const [name, c] of VISIBLE) {
      assert.ok(commands.includes(`.TP\n\\fBtend ${escape(name)}\\fR`), `tend ${name}`);
      assert.ok(commands.includes(escape(c.help.split("\n\n")[0]!.split(" ").slice(0, 6).join(" "))), `the help of ${name}`);
      for (const o of c.options) assert.ok(commands.includes(`\\fB\\-\\-${escape(o)}\\fR`), `${name} --${o}`);
      assert.ok(section(tend1, "SYNOPSIS").includes(`\\fBtend ${escape(name)}\\fR`), `synopsis: ${name}`);
    }
    for (const o of GLOBAL_OPTIONS) assert.ok(section(tend1, "OPTIONS").includes(`\\fB\\-\\-${o}\\fR`), `--${o}`);
    assert.ok(!tend1.includes("__complete\\fR ["), "the hidden command has no entry");
    for (const title of ["NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", '"FILES"', '"EXIT STATUS"', "SEE ALSO"]) assert.ok(tend1.includes(`\n.SH ${title}\n`), title);
  });
});

describe("tend-service(5)", () => {
  test("names every key of KEYS", () => {
    const missing = Object.keys(KEYS).filter((k) => !service5.includes(`\\fB${escape(k)}\\fR`));
    assert.deepEqual(missing, []);
  });
});

describe("the pages as built", () => {
  test("dist/man holds what the sources make now", () => {
    for (const [name, text] of Object.entries(pages)) assert.equal(readFileSync(join(REPO, "dist/man", name), "utf8"), text, `dist/man/${name}: run npm run build`);
  });

  test("every request is one the pages use, every font B, I or R, and no text line is taken for a request", () => {
    const REQUESTS = new Set(["TH", "SH", "SS", "PP", "TP", "IP", "RS", "RE", "nf", "fi", "br", "sp"]);
    for (const [name, text] of Object.entries(pages)) {
      text.split("\n").forEach((line, i) => {
        if (line.startsWith('.\\"')) return;
        if (/^[.']/.test(line)) assert.ok(REQUESTS.has(line.slice(1).split(" ")[0]!), `${name}:${i + 1}: ${line}`);
        for (const font of line.matchAll(/\\f(.)/g)) assert.ok("BIR".includes(font[1]!), `${name}:${i + 1}: \\f${font[1]}`);
        assert.doesNotMatch(line, /[^\x20-\x7e]/, `${name}:${i + 1}: a character groff reads only through preconv`);
      });
    }
  });

  test("groff formats them without a warning", { skip: has("groff") ? false : "groff is not installed (Debian: groff-base)" }, () => {
    for (const name of Object.keys(pages)) {
      const r = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-z", join(REPO, "dist/man", name)], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, "", `${name}: ${r.stderr}`);
    }
  });

  test("man -l shows them, with options as typed", { skip: has("man") ? false : "man is not installed (Debian: man-db)" }, () => {
    const show = (name: string): string => {
      const r = spawnSync("man", ["-l", join(REPO, "dist/man", name)], { encoding: "utf8", env: { ...process.env, MANWIDTH: "80", MANPAGER: "cat", PAGER: "cat" } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, "");
      return r.stdout.replace(/.\x08/g, ""); // overstrike bold and underline
    };
    const one = show("tend.1");
    assert.match(one, /^ +tend logs \[NAME…\] \[-u NAME\] \[-n N\] \[-f\] \[--since TIME\] \[--until WHEN\]$/m);
    assert.match(one, /^ +--root DIR$/m);
    const five = show("tend-service.5");
    assert.match(five, /^ +restart-delay-max$/m);
    assert.match(five, /Example: start-on = net\.eth0=up/);
  });
});

describe("markdown into roff", () => {
  test("escapes: backslashes, hyphens, what is not ASCII, a line that would be a request", () => {
    assert.equal(escape("a\\b --x …"), "a\\eb \\-\\-x \\[u2026]");
    assert.equal(render(parseMarkdown(".hidden and 'quoted'"), { top: 2 }), ".PP\n\\&.hidden and 'quoted'\n");
    assert.equal(render(parseMarkdown("'x' is"), { top: 2 }), ".PP\n\\&'x' is\n");
  });

  test("inline: code, bold, emphasis, links", () => {
    assert.equal(inline("`a-b` and ``x ` y``"), "\\fBa\\-b\\fR and \\fBx ` y\\fR");
    assert.equal(inline("**What** is *wanted*"), "\\fBWhat\\fR is \\fIwanted\\fR");
    assert.equal(inline("see [Places](#places) and [croner](https://x.example/c)"), "see Places and croner (https://x.example/c)");
    assert.equal(inline("AWS_* and 2 * 3"), "AWS_* and 2 * 3");
  });

  test("headings: the page's title left out, sections, subsections, deeper ones bold with what follows indented", () => {
    const roff = render(parseMarkdown("# Title\n\n## Keys and `start-on`\n\n### Identity\n\n#### `type`\n\nText.\n\n## Next"), { top: 2 });
    assert.equal(roff, '.SH "KEYS AND start\\-on"\n.SS "Identity"\n.PP\n\\fBtype\\fR\n.RS 4\n.PP\nText.\n.RE\n.SH "NEXT"\n');
  });

  test("lists: nested, numbered, continued, with code inside", () => {
    const md = "- one\n  continued\n  - inner\n\n  after\n\n  ```\n  code -x\n  ```\n- two\n\n1. first\n2. second\n";
    assert.equal(
      render(parseMarkdown(md), { top: 2 }),
      [".IP \\(bu 4", "one continued", ".RS 4", ".IP \\(bu 4", "inner", ".RE", ".IP", "after", ".RS 4", ".sp", ".RS 4", ".nf", "code \\-x", ".fi", ".RE", ".RE", ".IP \\(bu 4", "two", ".IP 1. 4", "first", ".IP 2. 4", "second", ""].join("\n"),
    );
  });

  test("tables: a tagged paragraph a row; columns named when there are more than two", () => {
    assert.equal(render(parseMarkdown("| code | meaning |\n|---|---|\n| 0 | ok \\| fine |\n"), { top: 2 }), ".TP\n0\nok | fine\n");
    assert.equal(render(parseMarkdown("| key | types | default |\n|---|---|---|\n| `a` | longrun | |\n| `b` | task | `1s` |\n"), { top: 2 }), ".TP\n\\fBa\\fR\ntypes: longrun\n.TP\n\\fBb\\fR\ntypes: task\n.br\ndefault: \\fB1s\\fR\n");
  });
});
