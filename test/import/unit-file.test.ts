// The systemd unit syntax: sections, comments, continuations, repeats, resets, drop-ins, and located errors.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { lastOf, listOf, parseUnit } from "../../src/import/unit-file.js";
import { systemdTranslator } from "../../src/import/systemd.js";
import { mulberry32 } from "../prng.js";

const values = (text: string, section: string, key: string): string[] => {
  const r = parseUnit("u.service", text);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return (r.unit.sections.get(section) ?? []).filter((a) => a.key === key).map((a) => a.value);
};

test("sections, both comment characters, blanks around keys and values", () => {
  const text = "# c\n; c too\n[Unit]\n  Description =  A  b  \n[Service]\nExecStart=/bin/x\n";
  assert.deepEqual(values(text, "Unit", "Description"), ["A  b"]);
  assert.deepEqual(values(text, "Service", "ExecStart"), ["/bin/x"]);
});

test("a '\\' at a line's end joins the next with a space, skipping comment lines between", () => {
  const text = "[Service]\nExecStart=/bin/x \\\n  -a \\\n# note\n  -b\nUser=u\n";
  assert.deepEqual(values(text, "Service", "ExecStart"), ["/bin/x  -a  -b"]);
  assert.deepEqual(values(text, "Service", "User"), ["u"]);
});

test("repeated keys are kept in order; an empty one resets a list; the last single one wins", () => {
  const r = parseUnit("u.service", "[Unit]\nAfter=a.service\nAfter=b.service\nAfter=\nAfter=c.service\n[Service]\nUser=a\nUser=b\n");
  assert.ok(r.ok);
  const unit = r.unit.sections.get("Unit")!;
  assert.deepEqual(listOf(unit).map((a) => [a.value, a.line]), [["c.service", 5]]);
  assert.equal(lastOf(r.unit.sections.get("Service")!)!.value, "b");
  assert.equal(lastOf([{ key: "User", value: "", file: "f", line: 1 }]), null, "an empty assignment is back to the default");
});

test("drop-ins come after the unit's own lines, each with its file and line", () => {
  const r = parseUnit("u.service", "[Service]\nExecStart=/bin/x\nEnvironment=A=1\n", [{ file: "u.service.d/o.conf", text: "[Service]\nEnvironment=\nEnvironment=B=2\n" }]);
  assert.ok(r.ok);
  const env = listOf(r.unit.sections.get("Service")!.filter((a) => a.key === "Environment"));
  assert.deepEqual(env.map((a) => [a.value, a.file, a.line]), [["B=2", "u.service.d/o.conf", 3]]);
});

test("a line that is no assignment, a key before any section, a bad key's name, a NUL: one located error", () => {
  const error = (text: string): string => {
    const r = parseUnit("u.service", text);
    assert.ok(!r.ok);
    return r.error;
  };
  assert.match(error("[Unit]\nDescription=x\njunk here\n"), /^u\.service:3: expected KEY=VALUE or \[Section\]/);
  assert.match(error("Description=x\n"), /^u\.service:1: 'Description=' before any \[Section\]/);
  assert.match(error("[Unit]\nDe scription=x\n"), /^u\.service:2: 'De scription' is not a directive's name/);
  assert.match(error("[Unit]\0"), /NUL/);
});

test("mutated real units: parsed or refused with a located error, translated or refused, never a crash", () => {
  const seeds = ["/lib/systemd/system/ssh.service", "/lib/systemd/system/postgresql@.service", "/lib/systemd/system/apt-daily.timer"].filter((p) => existsSync(p));
  const base = seeds.map((p) => readFileSync(p, "utf8"));
  base.push("[Unit]\nDescription=%H %i\n[Service]\nExecStart=/bin/x \"a\nEnvironment=\"A\n[Install]\nWantedBy=multi-user.target\n");
  const random = mulberry32(13);
  const noise = ["\\", "\n", "=", "[", "]", "%", "$", "\"", "'", "-", "@", ";", "#", "\0", "Type=forking", "OnCalendar=Mon..Fri 1:2", "ExecStart=", "\u00e9"];
  const files = { read: () => null, list: () => [] };
  for (let i = 0; i < 400; i++) {
    let text = base[i % base.length]!;
    for (let k = 0; k < 4; k++) {
      const at = Math.floor(random() * text.length);
      text = text.slice(0, at) + noise[Math.floor(random() * noise.length)]! + text.slice(at + Math.floor(random() * 3));
    }
    const path = i % 3 === 2 ? "/x/t.timer" : i % 2 ? "/x/u@.service" : "/x/u.service";
    const r = systemdTranslator.translate({ path, text, files, known: new Set() });
    if (!r.ok) assert.match(r.error, /^\/x\/|cannot be read/, r.error);
  }
});
