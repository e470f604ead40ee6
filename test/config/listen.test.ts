// `listen`: the sockets a service is given (socket activation). Each bad value is one
// located error; good ones become the records the database keeps; the database's shape
// check takes them back and refuses a mangled one.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { keeperSocket, type ListenSocket } from "../../src/config/listen.js";
import { checkDatabaseShape } from "../../src/compile/database-shape.js";
import { FILE, assertOneError, compileFiles, parse, show } from "../helpers.js";

const LONGRUN = "type = longrun\ncommand = /bin/true\n";
const L3 = (col: number): string => `${FILE}:3:${col}`;

describe("listen", () => {
  const bad: [string, string, ...string[]][] = [
    ["tcp:localhost:80", L3(14), "'localhost' is not an IPv4 address", "host names are not resolved"],
    ["tcp:127.0.0.1:70000", L3(24), "the port must be from 1 to 65535"],
    ["tcp:127.0.0.1:0", L3(24), "the port must be from 1 to 65535"],
    ["tcp:127.0.0.1", L3(14), "a tcp socket is tcp:ADDR:PORT"],
    ["udp:[::1:53", L3(14), "a udp socket is udp:ADDR:PORT"],
    ["tcp:[127.0.0.1]:80", L3(14), "not an IPv6 address"],
    ["sctp:1.2.3.4:5", L3(10), "a socket is tcp:ADDR:PORT, udp:ADDR:PORT or unix:"],
    ["bad name=tcp:127.0.0.1:80", L3(10), "'bad name' is not a socket name"],
    ["unix:run/x.sock", L3(15), "a unix socket is an absolute, normal path"],
    ["unix:/run/../x.sock", L3(15), "normal path"],
    ["unix:/run/x.sock:999", L3(27), "the mode of a unix socket is octal"],
    ["unix:/run/x.sock:0660:bad user!", L3(15), "'bad user!' is not a valid user"],
  ];
  for (const [value, at, ...parts] of bad) {
    test(`'${value}' is refused where it is wrong`, () => {
      const { diagnostics } = parse(`${LONGRUN}listen = ${value}\n`);
      assertOneError(diagnostics, at, ...parts);
    });
  }

  test("twice the same address, a readiness fd among the sockets, a task: each one error", () => {
    assertOneError(parse(`${LONGRUN}listen = tcp:127.0.0.1:80\nlisten = web=tcp:127.0.0.1:80\n`).diagnostics, `${FILE}:4:10`, "tcp:127.0.0.1:80 is listed twice");
    assertOneError(parse(`${LONGRUN}listen = tcp:127.0.0.1:80\nlisten = unix:/run/a\nready = fd:4\n`).diagnostics, `${FILE}:5`, "the readiness fd 4 is one of the listening sockets' (3 to 4)", "fd:5");
    assertOneError(parse("type = task\ncommand = /bin/true\nlisten = tcp:127.0.0.1:80\n").diagnostics, L3(1), "'listen' does not apply to a task");
  });

  test("good values, in order, with their names; the keeper's form", () => {
    const { parsed, errors } = parse(`${LONGRUN}listen = tcp:0.0.0.0:80\nlisten = admin=unix:/run/web.sock:0660:www-data:adm\nlisten = dns=udp:[::1]:53\n`, "web");
    assert.deepEqual(errors, []);
    assert.deepEqual(parsed!.def.listen, [
      { name: "web", kind: "tcp", host: "0.0.0.0", port: 80 },
      { name: "admin", kind: "unix", path: "/run/web.sock", mode: 0o660, user: "www-data", group: "adm" },
      { name: "dns", kind: "udp", host: "::1", port: 53 },
    ]);
    assert.deepEqual(
      parsed!.def.listen.map((l: ListenSocket) => keeperSocket(l, 33, 4)),
      ["web=tcp:0.0.0.0:80", "admin=unix:0660:33:4:/run/web.sock", "dns=udp:[::1]:53"],
    );
    assert.deepEqual(parse(`${LONGRUN}listen = unix:/run/a.sock\n`, "a").parsed!.def.listen, [{ name: "a", kind: "unix", path: "/run/a.sock", mode: 0o666, user: null, group: null }]);
  });

  test("the database keeps them; its shape check takes them back, refuses a mangled one, and gives an older database none", () => {
    const r = compileFiles({ web: `${LONGRUN}listen = tcp:127.0.0.1:8080\nlisten = unix:/run/web.sock:0600\n` });
    assert.equal(r.accepted, true, show(r.diagnostics));
    const db = JSON.parse(JSON.stringify({ ...r.compiled!, format: "tend-db", version: 1, generation: 1, compiledAt: "" }));
    assert.equal(checkDatabaseShape(structuredClone(db)), null);
    const mangled = structuredClone(db);
    mangled.services.web.listen[0].host = "localhost";
    assert.match(checkDatabaseShape(mangled) ?? "", /services\.web\.listen\[0\]\.host must be an IP address/);
    const older = structuredClone(db);
    delete older.services.web.listen;
    assert.equal(checkDatabaseShape(older), null);
  });
});
