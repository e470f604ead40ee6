// Templates by name (src/config/template.ts, src/compile/templates.ts): a file named
// `NAME@` is a template; the instances the files name (`requires = pg@15-main`,
// `contents = getty@tty1`) are compiled as services made from it, part of the graph,
// its cycles and the boot plan; what cannot be one is an error where it is named.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkDatabaseShape } from "../../src/compile/database-shape.js";
import { parseCondition } from "../../src/config/condition.js";
import { instanceOf, splitInstanceName } from "../../src/config/template.js";
import { assertHas, assertOneError, compileFiles, errorsOf, show } from "../helpers.js";

const longrun = (...lines: string[]): string => ["type = longrun", "command = /bin/true", ...lines, ""].join("\n");
const task = (...lines: string[]): string => ["type = task", "command = /bin/true", ...lines, ""].join("\n");
const bundle = (contents: string): string => `type = bundle\ncontents = ${contents}\n`;

function accepted(files: Record<string, string>) {
  const r = compileFiles(files);
  assert.equal(r.accepted, true, show(r.diagnostics));
  return { ...r.compiled!, dir: r.dir, diagnostics: r.diagnostics };
}

describe("templates: the instances the files name are compiled", () => {
  test("a required instance is a service of the graph, made from its template with its argument", () => {
    const c = accepted({
      "pg@": [
        "type = longrun",
        "command = /usr/bin/postgres -D ${PGDATA}",
        "description = cluster ${INSTANCE}",
        "env = PGDATA=/var/lib/pg/${INSTANCE}",
        "env-file = -/etc/pg/${INSTANCE}.env",
        "cwd = /srv/${INSTANCE}",
        "runtime-directory = pg/${INSTANCE}",
        "pid-file = /run/pg/${INSTANCE}.pid",
        "requires = net",
        "",
      ].join("\n"),
      net: longrun(),
      app: longrun("requires = pg@15-main"),
      default: bundle("app"),
    });
    const pg = c.services["pg@15-main"]!;
    assert.equal(pg.template, "pg@");
    assert.equal(pg.file, `${c.dir}/pg@`, "an instance's file is its template's");
    assert.equal(pg.description, "cluster 15-main");
    assert.deepEqual({ ...pg.env }, { PGDATA: "/var/lib/pg/15-main", INSTANCE: "15-main" });
    assert.deepEqual(pg.envFiles, [{ path: "/etc/pg/15-main.env", optional: true }]);
    assert.equal(pg.cwd, "/srv/15-main");
    assert.deepEqual(pg.directories.runtime?.names, ["pg/15-main"]);
    assert.equal(pg.pidFile, "/run/pg/15-main.pid");
    assert.deepEqual(pg.command, ["/usr/bin/postgres", "-D", "${PGDATA}"], "commands are left as written: they expand variables from the environment at the spawn");
    assert.deepEqual(c.graph.services["pg@15-main"], { requires: ["net"], wants: [], after: ["net"] });
    assert.deepEqual(c.graph.services.app, { requires: ["pg@15-main"], wants: [], after: ["pg@15-main"] });
    // The template itself is in the database (the engine makes run-time instances from it), never in the boot.
    assert.equal(c.services["pg@"]!.template, null);
    assert.deepEqual(c.boot, [["net"], ["pg@15-main"], ["app"]]);
    assert.equal(checkDatabaseShape(JSON.parse(JSON.stringify({ ...c, format: "tend-db", version: 1, generation: 1, compiledAt: "" }))), null);
  });

  test("instances in a bundle's contents, in wants, after and before; each argument once", () => {
    const c = accepted({
      "getty@": "type = longrun\ncommand = /sbin/agetty ${INSTANCE}\n",
      login: longrun("wants = getty@tty3", "after = getty@tty4", "before = getty@tty1"),
      default: bundle("getty@tty1 getty@tty2 login"),
    });
    assert.deepEqual(
      Object.keys(c.services).filter((n) => n.startsWith("getty@")).sort(),
      ["getty@", "getty@tty1", "getty@tty2", "getty@tty3", "getty@tty4"],
    );
    assert.deepEqual(c.graph.bundles.default, ["getty@tty1", "getty@tty2", "login"]);
    assert.deepEqual(c.graph.services["getty@tty1"]!.after, ["login"], "'before' in another file orders the instance");
    // Compiled, as every instance named, but only what the bundle pulls in boots ('after' pulls nothing in).
    assert.deepEqual(c.boot, [["getty@tty2", "getty@tty3"], ["login"], ["getty@tty1"]]);
  });

  test("a cycle through an instance is found, naming the instance", () => {
    const r = compileFiles({ "pg@": longrun("requires = app"), app: longrun("requires = pg@main") });
    assert.equal(r.accepted, false);
    assertHas(r.diagnostics, "error", `${r.dir}/app:3:12`, "dependency cycle", "pg@main");
  });

  test("a template's own mistakes are said once, however many instances are named", () => {
    const r = compileFiles({ "w@": longrun("requires = nosuch"), default: bundle("w@a w@b w@c") });
    assertOneError(r.diagnostics, `${r.dir}/w@:3:12`, "'requires' names 'nosuch', which has no service file");
  });

  test("a task instance cannot be required, as no task can", () => {
    const r = compileFiles({ "backup@": task(), app: longrun("requires = backup@home") });
    assertOneError(r.diagnostics, `${r.dir}/app:3:12`, "'backup@home' is a task and is never up");
  });

  test("an instance of a template that failed to parse is no second error", () => {
    const r = compileFiles({ "bad@": "type = longrun\n", app: longrun("requires = bad@x") });
    assertOneError(r.diagnostics, `${r.dir}/bad@`, "a longrun needs 'command'");
  });
});

describe("templates: what is refused, where it is named", () => {
  test("an instance of an unknown template, with a guess", () => {
    const r = compileFiles({ "getty@": longrun(), app: longrun("requires = gety@tty1") });
    assertOneError(r.diagnostics, `${r.dir}/app:3:12`, "'requires' names 'gety@tty1', an instance of 'gety@', which has no template file", "(did you mean 'getty@'?)");
  });

  test("an instance of a service that makes its instances from events: the hint says what a template is", () => {
    const r = compileFiles({ mount: longrun("start-on = block-added", "instance = DEVNAME"), app: longrun("requires = mount@sdb") });
    assertOneError(r.diagnostics, `${r.dir}/app:3:12`, "'mount' makes its instances from events ('instance = DEVNAME'), not by name: a template is a file named 'mount@'");
  });

  test("a template named where an instance is meant, an argument no instance may have", () => {
    const r = compileFiles({ "getty@": longrun(), app: longrun("requires = getty@ getty@/dev/tty1 getty@-x getty@${INSTANCE}") });
    assert.equal(errorsOf(r.diagnostics).length, 4, show(r.diagnostics));
    assertHas(r.diagnostics, "error", `${r.dir}/app:3:12`, "'getty@' is a template, which never runs itself: name one of its instances, like 'getty@NAME'");
    assertHas(r.diagnostics, "error", `${r.dir}/app:3:19`, "'/dev/tty1' is no instance argument: use letters, digits");
    assertHas(r.diagnostics, "error", `${r.dir}/app:3:35`, "'-x' is no instance argument");
    assertHas(r.diagnostics, "error", `${r.dir}/app:3:44`, "references are the same for every instance");
  });

  test("a file may be a template but not an instance", () => {
    const r = compileFiles({ "getty@tty1": longrun(), "a@b@": longrun() });
    assertHas(r.diagnostics, "error", `${r.dir}/getty@tty1`, "'getty@tty1' is an instance's name: a file is a service (NAME) or a template (NAME@)");
    assertHas(r.diagnostics, "error", `${r.dir}/a@b@`, "'a@b@' is not a valid service name");
  });

  test("a template beside a service that makes the same names from events", () => {
    const r = compileFiles({ mount: longrun("start-on = disk", "instance = DEV"), "mount@": longrun() });
    assertOneError(r.diagnostics, `${r.dir}/mount@`, "'mount' makes instances named 'mount@…' from its events");
  });

  test("what would start a template itself: a clock schedule, an event without 'instance'; a bundle template", () => {
    const r = compileFiles({
      "t@": task("schedule = every 1h"),
      "l@": longrun("start-on = net-up"),
      "b@": bundle("x"),
      x: longrun(),
    });
    assertHas(r.diagnostics, "error", `${r.dir}/t@:3`, "a template takes no clock schedule");
    assertHas(r.diagnostics, "error", `${r.dir}/l@:3`, "a template's 'start-on' must say which instance it starts: add 'instance = KEY'");
    assertHas(r.diagnostics, "error", `${r.dir}/b@`, "a bundle cannot be a template");
  });

  test("'user = ${INSTANCE}' in a template; an instance's account is checked on the host", () => {
    const ok = compileFiles({ "u@": longrun("user = ${INSTANCE}", "group = ${INSTANCE}") });
    assert.equal(ok.accepted, true, show(ok.diagnostics));
    const notATemplate = compileFiles({ u: longrun("user = ${INSTANCE}") });
    assertOneError(notATemplate.diagnostics, `${notATemplate.dir}/u:3:8`, "is not a valid user or group name");
    const host = { users: new Set(["root", "alice"]), groups: new Set(["root"]), canSwitchUser: true };
    const r = compileFiles({ "u@": longrun("user = ${INSTANCE}"), default: bundle("u@alice u@bob") }, { hostChecks: true, host });
    assertOneError(r.diagnostics, `${r.dir}/u@:3:8`, "'user = bob': no such user on this machine");
    const allowed = compileFiles({ "u@": longrun("user = ${INSTANCE}", "allow = alice") });
    assertHas(allowed.diagnostics, "warning", `${allowed.dir}/u@:4`, "'allow' lets whom it names start an instance for any argument, and so run it as any user");
  });
});

describe("templates: names and conditions", () => {
  test("an instance's name splits into its template and argument", () => {
    assert.deepEqual(splitInstanceName("getty@tty1"), { template: "getty@", argument: "tty1" });
    assert.deepEqual(splitInstanceName("pg@15-main"), { template: "pg@", argument: "15-main" });
    for (const bad of ["getty", "getty@", "@tty1", "getty@tty 1", "getty@a/b", "getty@..", "getty@a:b", "getty@$x", "getty@a\nb", `getty@${"x".repeat(101)}`]) {
      assert.equal(splitInstanceName(bad), null, bad);
    }
  });

  test("an argument cannot change what another key means: it is put into the parsed values, never into the text", () => {
    const c = accepted({ "e@": longrun("env = A=${INSTANCE}", "env = B=b"), default: bundle("e@x.y+z") });
    assert.deepEqual({ ...c.services["e@x.y+z"]!.env }, { A: "x.y+z", B: "b", INSTANCE: "x.y+z" });
    const def = instanceOf(c.services["e@"]!, "INSTANCE");
    assert.equal(def.env.A, "INSTANCE", "substituted once: an argument is not read again for ${INSTANCE}");
  });

  test("'started getty@tty1' is the template's job event with INSTANCE; 'started getty@' any instance's", () => {
    const one = parseCondition("started getty@tty1");
    assert.ok(one.ok);
    assert.deepEqual({ ...one.value.condition, match: { ...(one.value.condition as { match: object }).match } }, { kind: "job", verb: "started", service: "getty@", match: { INSTANCE: "tty1" } });
    const any = parseCondition("stopping getty@");
    assert.ok(any.ok);
    assert.deepEqual({ ...any.value.condition, match: { ...(any.value.condition as { match: object }).match } }, { kind: "job", verb: "stopping", service: "getty@", match: {} });
    const twice = parseCondition("started getty@tty1 INSTANCE=tty2");
    assert.ok(!twice.ok && twice.message.includes("names its instance already"));
    const r = compileFiles({ "getty@": longrun(), report: task("start-on = started getty@tty1 or stopped gety@") });
    assertOneError(r.diagnostics, `${r.dir}/report:3:42`, "the condition names 'gety@'", "(did you mean 'getty@'?)");
  });
});
