// `tend graph` as a user runs it: bin/tend on the example set compiled into a temporary
// root, no server running; DOT, SVG, NAME, --json, and the errors.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EXAMPLES, runTend, withTemp } from "../helpers.js";
import { wellFormed } from "../draw/xml.js";

describe("tend graph", () => {
  test("the example set as DOT, as SVG (the default when not on a terminal), one name's part, --json", () =>
    withTemp((root) => {
      const compiled = runTend(["--root", root, "compile", "--portable", EXAMPLES]);
      assert.equal(compiled.status, 0, compiled.stdout + compiled.stderr);

      const dot = runTend(["--root", root, "graph", "--format", "dot"]);
      assert.equal(dot.status, 0, dot.stderr);
      assert.equal(dot.stderr, "");
      assert.match(dot.stdout, /^digraph tend \{\n {2}rankdir=BT;\n/);
      assert.match(dot.stdout, /^ {2}"web" -> "prepare" \[style=solid/m);
      assert.match(dot.stdout, /^ {2}"web" -> "logger" \[style=dashed/m);
      assert.match(dot.stdout, /^ {2}"metrics" -> "web" \[style=dotted/m);
      assert.match(dot.stdout, /^ {2}"backup" -> "db" \[.*label="start-on"/m);
      assert.match(dot.stdout, /^ {2}"warmup" \[label="warmup\\nschedule 30s after started web"/m);
      assert.match(dot.stdout, /\}\n$/);

      const svg = runTend(["--root", root, "graph"]);
      assert.equal(svg.status, 0, svg.stderr);
      assert.match(svg.stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg /);
      assert.equal(wellFormed(svg.stdout), null);
      assert.match(svg.stdout, /every service and bundle \(19\)/);

      const part = runTend(["--root", root, "--json", "graph", "db"]);
      assert.equal(part.status, 0, part.stderr);
      const g = JSON.parse(part.stdout) as { nodes: { name: string }[]; edges: { from: string; to: string; kind: string }[] };
      assert.deepEqual(g.nodes.map((n) => n.name).sort(), ["backup", "db", "eth0-daemon", "network", "prepare"]);
      assert.ok(g.edges.some((e) => e.from === "backup" && e.to === "db" && e.kind === "start-on"));

      const unknown = runTend(["--root", root, "graph", "dbb"]);
      assert.deepEqual([unknown.status, unknown.stdout], [1, ""]);
      assert.equal(unknown.stderr, "tend: unknown service or bundle: dbb (did you mean 'db'?) (not in the installed database, generation 1)\n");
      const format = runTend(["--root", root, "graph", "--format", "png"]);
      assert.equal(format.status, 2);
      assert.match(format.stderr, /^tend: --format takes dot or svg, not 'png'\n/);
    }));

  test("with no database installed it says what to do", () =>
    withTemp((root) => {
      const r = runTend(["--root", root, "graph"]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^tend: no database is installed at .*db\.json; run 'tend compile' first\n$/);
    }));
});
