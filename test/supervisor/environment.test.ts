// A service's environment as the supervisor builds it, from the parsed file and the
// server's own environment given as data: what `pass-env` takes, what it never takes,
// and which layer wins (clean PATH < tend.env < who it runs as < pass-env < env-files <
// env < event < tend's own).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { CLEAN_PATH, type ServiceDef } from "../../src/config/service.js";
import type { Account } from "../../src/supervisor/accounts.js";
import { serviceEnvironment } from "../../src/supervisor/environment.js";
import { parse, show, withTemp } from "../helpers.js";

const ACCOUNT: Account = { name: "svc", uid: 12345, gid: 12345, home: "/home/svc" };
const BASE = { PATH: CLEAN_PATH, HOME: "/home/svc", USER: "svc", LOGNAME: "svc", TEND_SERVICE: "svc" };

function service(...lines: string[]): ServiceDef {
  const { parsed, diagnostics } = parse(["type = longrun", "command = /bin/true", ...lines, ""].join("\n"));
  assert.deepEqual(diagnostics, [], show(diagnostics));
  return parsed!.def;
}

/** The environment of `def` started by a server running with `server`, by no event. */
function envOf(def: ServiceDef, server: Record<string, string>, event: Record<string, string> = {}, extra: Record<string, string> = {}, defaults: Record<string, string> = {}): Record<string, string> {
  const r = serviceEnvironment(def, ACCOUNT, { server, event, extra, defaults });
  assert.ok(r.ok, r.ok ? "" : r.error);
  return { ...r.env };
}

describe("pass-env", () => {
  test("without it, nothing of the server's environment arrives", () => {
    assert.deepEqual(envOf(service(), { FOO: "1", PATH: "/opt/bin", AWS_KEY: "k" }), BASE);
  });

  test("a name takes that variable; PREFIX* those starting with PREFIX; nothing else", () => {
    const def = service("pass-env = FOO BAR_*");
    const server = { FOO: "1", FOOD: "2", BAR_A: "3", BAR_: "4", BAR: "5", BAZ: "6" };
    assert.deepEqual(envOf(def, server), { ...BASE, FOO: "1", BAR_A: "3", BAR_: "4" });
  });

  test("a name the server's environment does not have is simply absent", () => {
    assert.deepEqual(envOf(service("pass-env = MISSING"), {}), BASE);
  });

  test("* takes everything but the clean base and what tend sets: TEND_*, NOTIFY_SOCKET, LISTEN_*", () => {
    const server = {
      LANG: "C.UTF-8",
      PATH: "/opt/bin",
      HOME: "/root",
      USER: "root",
      LOGNAME: "root",
      TEND_KEEPER: "/opt/keeper",
      TEND_SERVICE: "outer",
      NOTIFY_SOCKET: "/run/outer.sock",
      LISTEN_FDS: "1",
      LISTEN_PID: "1",
      LISTEN_FDNAMES: "web",
    };
    assert.deepEqual(envOf(service("pass-env = *"), server), { ...BASE, LANG: "C.UTF-8" });
    // A prefix reaching into them does not take them either.
    assert.deepEqual(envOf(service("pass-env = TEND* LISTEN_* PA* NOTIFY*"), server), BASE);
  });

  test("a name may replace the clean base, which a pattern never does", () => {
    const server = { PATH: "/opt/bin:/usr/bin", HOME: "/root" };
    assert.deepEqual(envOf(service("pass-env = PATH *"), server), { ...BASE, PATH: "/opt/bin:/usr/bin" });
  });

  test("a name tend sets itself is never taken, even from a database edited by hand", () => {
    const def = { ...service(), passEnv: ["TEND_SERVICE", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID"] };
    const server = { TEND_SERVICE: "outer", NOTIFY_SOCKET: "/run/outer.sock", LISTEN_FDS: "1", LISTEN_PID: "1" };
    assert.deepEqual(envOf(def, server), BASE);
  });

  test("names like Object.prototype's members are variables like any other", () => {
    const server = JSON.parse('{"__proto__": "p", "constructor": "c", "toString": "t"}') as Record<string, string>;
    const r = serviceEnvironment(service("pass-env = __proto__ constructor"), ACCOUNT, { server });
    assert.ok(r.ok);
    assert.deepEqual(Object.entries(r.env).filter(([name]) => !Object.hasOwn(BASE, name)).sort(), [["__proto__", "p"], ["constructor", "c"]]);
  });

  test("precedence: clean base < pass-env < env-files < env < the event's values < tend's own", () =>
    withTemp((dir) => {
      const file = join(dir, "svc.env");
      writeFileSync(file, "FILE=file\nLINE=file\nEVENT=file\n");
      const def = service("pass-env = *", `env-file = ${file}`, "env = LINE=line", "env = EVENT=line");
      const server = { PASSED: "server", FILE: "server", LINE: "server", EVENT: "server", NOTIFY_SOCKET: "/run/outer.sock" };
      const event = { EVENT: "event", PATH: "/event/bin", NOTIFY_SOCKET: "/event.sock" };
      const extra = { NOTIFY_SOCKET: "/run/tend/notify/svc.sock" };
      assert.deepEqual(envOf(def, server, event, extra), {
        ...BASE,
        PASSED: "server",
        FILE: "file",
        LINE: "line",
        EVENT: "event",
        NOTIFY_SOCKET: "/run/tend/notify/svc.sock",
      });
    }),
  );

  test("tend.env is under everything the service sets, over the clean PATH; who it runs as comes after it", () => {
    const def = service("pass-env = PASSED", "env = LINE=line");
    const defaults = { PATH: "/site/bin:/usr/bin", HOME: "/nowhere", PASSED: "defaults", LINE: "defaults", ONLY: "defaults" };
    assert.deepEqual(envOf(def, { PASSED: "server" }, {}, {}, defaults), { ...BASE, PATH: "/site/bin:/usr/bin", PASSED: "server", LINE: "line", ONLY: "defaults" });
  });
});
