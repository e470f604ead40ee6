// tend import of .socket units: each socket of a service becomes one of its `listen`
// lines (NAME= systemd's FileDescriptorName, else the socket's unit name); an enabled
// socket whose service is not enabled itself starts it on demand; Accept=yes is
// dropped whole; the socket's name, the service's, or both, give the same files.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../src/compile/compile.js";
import { runImport, type ImportResult } from "../../src/import/import.js";
import { show, withTemp, writeSource } from "../helpers.js";

const SERVICE = "[Service]\nExecStart=/bin/sleep 1000\n";

function importSet(dir: string, operands: string[], to = join(dir, "etc")): { result: ImportResult; files: Record<string, string> } {
  const result = runImport({ operands: operands.map((o) => join(dir, "units", o)), to, force: false, root: "/" });
  const files = Object.fromEntries(result.units.flatMap((u) => u.written).map((p) => [p.slice(to.length + 1), readFileSync(p, "utf8")]));
  return { result, files };
}

const notesOf = (result: ImportResult, directive: string) => result.units.flatMap((u) => u.notes).filter((n) => n.directive === directive);
const listens = (text: string): string[] => text.split("\n").filter((l) => l.startsWith("listen = "));

describe("tend import of .socket units", () => {
  test("ListenStream= forms, ListenDatagram=, FileDescriptorName=, SocketMode/User/Group= into listen lines; the rest dropped with why; the set checks", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), {
        "web.service": SERVICE,
        "web.socket":
          "[Unit]\nDescription=web socket\nBefore=sockets.target\n[Socket]\nListenStream=8080\nListenStream=127.0.0.1:8081\nListenStream=[::1]:8082\nListenStream=/run/web.sock\n" +
          "ListenDatagram=127.0.0.1:5353\nListenDatagram=/run/web.dgram\nListenSequentialPacket=/run/web.seq\nListenStream=@abstract\nListenStream=localhost:80\n" +
          "FileDescriptorName=http\nSocketMode=0660\nSocketUser=www-data\nSocketGroup=www-data\nBacklog=16\nReceiveBuffer=8M\nAccept=no\n",
      });
      const { result, files } = importSet(dir, ["web.socket"]);
      assert.deepEqual(Object.keys(files), ["web"]);
      assert.deepEqual(listens(files.web!), [
        "listen = http=tcp:[::]:8080",
        "listen = http=tcp:127.0.0.1:8081",
        "listen = http=tcp:[::1]:8082",
        "listen = http=unix:/run/web.sock:0660:www-data:www-data",
        "listen = http=udp:127.0.0.1:5353",
      ]);
      const streams = notesOf(result, "ListenStream");
      assert.deepEqual(streams.map((n) => n.outcome), ["translated", "translated", "translated", "translated", "dropped", "dropped"]);
      assert.match(streams[4]!.why!, /abstract/);
      assert.match(streams[5]!.why!, /host name/);
      assert.match(notesOf(result, "ListenDatagram")[1]!.why!, /unix datagram/);
      assert.match(notesOf(result, "ListenSequentialPacket")[0]!.why!, /SOCK_SEQPACKET/);
      assert.match(notesOf(result, "Backlog")[0]!.why!, /SOMAXCONN/);
      assert.equal(notesOf(result, "ReceiveBuffer")[0]!.outcome, "dropped");
      assert.equal(notesOf(result, "Accept")[0]!.outcome, "ignored");
      assert.equal(notesOf(result, "SocketMode")[0]!.outcome, "translated");
      assert.match(notesOf(result, "Before").find((n) => n.file.endsWith("web.socket"))!.why!, /socket's own ordering/);
      assert.equal(result.enabled, null, "neither is enabled");
      assert.equal(result.status, 1);
      const checked = compile({ sourceDir: join(dir, "etc"), hostChecks: false });
      assert.ok(checked.accepted, show(checked.diagnostics));
    }),
  );

  test("the socket's name, the service's, or both give the same files; its name is the socket unit's without FileDescriptorName=", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), {
        "echo.service": "[Unit]\nRequires=echo.socket\nAfter=echo.socket\n" + SERVICE,
        "echo.socket": "[Socket]\nListenStream=127.0.0.1:7000\n[Install]\nWantedBy=sockets.target\n",
        "echo-admin.socket": "[Socket]\nListenStream=/run/echo.admin\nService=echo.service\nSocketGroup=adm\n",
      });
      const outputs = [["echo.socket"], ["echo.service"], ["echo.service", "echo.socket", "echo-admin.socket"], ["echo-admin.socket", "echo.socket"]].map((ops, i) => {
        const { result, files } = importSet(dir, ops, join(dir, `etc${i}`));
        assert.deepEqual(result.units.flatMap((u) => u.errors), [], ops.join(" "));
        return { files, result };
      });
      for (const o of outputs) assert.deepEqual(o.files, outputs[0]!.files);
      const text = outputs[0]!.files.echo!;
      assert.deepEqual(listens(text), ["listen = echo-admin.socket=unix:/run/echo.admin:0666:root:adm", "listen = echo.socket=tcp:127.0.0.1:7000"]);
      assert.match(text, /^start-on = connection SERVICE=echo$/m, "an enabled socket, its service not enabled: on demand");
      assert.deepEqual(outputs[0]!.result.enabled?.added, ["echo"]);
      assert.match(notesOf(outputs[0]!.result, "WantedBy")[0]!.to!, /^start-on = connection SERVICE=echo \(on demand/);
      assert.equal(notesOf(outputs[0]!.result, "Requires")[0]!.outcome, "translated", "its own socket: kept by its listen lines");
      assert.doesNotMatch(text, /^requires/m);
      assert.equal(notesOf(outputs[0]!.result, "SocketGroup")[0]!.outcome, "approximated");
      assert.match(notesOf(outputs[0]!.result, "Service")[0]!.to!, /the service 'echo'/);
    }),
  );

  test("a service enabled itself keeps its sockets without start-on; a static link in sockets.target.wants enables a socket", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), {
        "up.service": `${SERVICE}[Install]\nWantedBy=multi-user.target\n`,
        "up.socket": "[Socket]\nListenStream=127.0.0.1:7001\n[Install]\nWantedBy=sockets.target\n",
        "bus.service": SERVICE,
        "bus.socket": "[Socket]\nListenStream=/run/bus.sock\n",
      });
      mkdirSync(join(dir, "units/sockets.target.wants"));
      symlinkSync("../bus.socket", join(dir, "units/sockets.target.wants/bus.socket"));
      const { files, result } = importSet(dir, ["up.service", "bus.socket"]);
      assert.doesNotMatch(files.up!, /start-on/);
      assert.match(files.up!, /^listen = up\.socket=tcp:127\.0\.0\.1:7001$/m);
      assert.match(files.bus!, /^start-on = connection SERVICE=bus$/m);
      assert.match(notesOf(result, "WantedBy").find((n) => n.file.includes("sockets.target.wants"))!.to!, /a link in sockets\.target\.wants/);
      assert.deepEqual(result.enabled?.added.sort(), ["bus", "up"]);
    }),
  );

  test("Accept=yes: the unit is dropped whole, said why, nothing written; a oneshot's sockets are dropped", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), {
        "finger.socket": "[Socket]\nListenStream=79\nAccept=yes\n[Install]\nWantedBy=sockets.target\n",
        "finger@.service": "[Service]\nExecStart=/usr/sbin/fingerd\nStandardInput=socket\n",
        "once.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
        "once.socket": "[Socket]\nListenStream=127.0.0.1:7002\n",
      });
      const { result, files } = importSet(dir, ["finger.socket", "once.socket"]);
      assert.deepEqual(Object.keys(files), ["once"]);
      assert.match(notesOf(result, "Accept")[0]!.why!, /^Accept=yes: per-connection instances are not supported/);
      assert.ok(notesOf(result, "ListenStream").every((n) => n.outcome === "dropped"));
      assert.match(notesOf(result, "ListenStream")[1]!.why!, /only a longrun listens/);
      assert.equal(result.status, 1);
    }),
  );

  test("a socket whose service is not there: an error naming it", () =>
    withTemp((dir) => {
      writeSource(join(dir, "units"), { "lone.socket": "[Socket]\nListenStream=7003\n" });
      const { result } = importSet(dir, ["lone.socket"]);
      assert.equal(result.status, 3);
      assert.match(result.units[0]!.errors[0]!, /its service .*lone\.service cannot be read/);
    }),
  );
});
