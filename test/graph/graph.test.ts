// `tend graph`'s pure parts: the model read off a compiled set (edges of every kind,
// layers from the boot plan, what a name reaches), the layout, the SVG (every text
// escaped, well-formed, bounded for 500 services) and the DOT.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { graphCaption } from "../../src/cli/graph.js";
import { compile } from "../../src/compile/compile.js";
import { escapeXml } from "../../src/draw/svg.js";
import { dotString, graphDot } from "../../src/graph/graph-dot.js";
import { MAX_ROW_WIDTH, layOut } from "../../src/graph/graph-layout.js";
import { dependencyGraph, reachedFrom, type DependencyGraph } from "../../src/graph/graph-model.js";
import { graphSvg } from "../../src/graph/graph-svg.js";
import { EXAMPLES, REPO, compiledDatabase, random, show } from "../helpers.js";
import { wellFormed } from "../draw/xml.js";

function examples(): DependencyGraph {
  const r = compile({ sourceDir: EXAMPLES, hostChecks: false });
  assert.ok(r.compiled, show(r.diagnostics));
  return dependencyGraph(r.compiled);
}

const edge = (g: DependencyGraph, from: string, to: string) => g.edges.filter((e) => e.from === from && e.to === to).map((e) => e.kind);
const layerOf = (g: DependencyGraph, name: string): number => g.nodes.find((n) => n.name === name)!.layer;

/** `count` services in a seeded random order: each requires, wants or is after a few of those before it; bundles of ten. */
function manyServices(count: number, seed: number): Record<string, string> {
  const rng = random(seed);
  const files: Record<string, string> = {};
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `service-${String(i).padStart(3, "0")}-${rng.pick(["web", "db", "cache", "queue", "mount", "net"])}`;
    const lines = ["type = longrun", "command = /bin/true"];
    if (names.length > 0) {
      for (const key of ["requires", "wants", "after"]) if (rng.chance(0.5)) lines.push(`${key} = ${[...new Set(Array.from({ length: rng.int(1, 3) }, () => rng.pick(names)))].join(" ")}`);
    }
    files[name] = `${lines.join("\n")}\n`;
    names.push(name);
  }
  for (let b = 0; b * 10 < count; b++) files[`group-${b}`] = `type = bundle\ncontents = ${names.slice(b * 10, b * 10 + 10).join(" ")}\n`;
  return files;
}

describe("the graph's model", () => {
  test("the example set: an edge per relation, of its kind; layers from the boot plan; bundles below their members", () => {
    const g = examples();
    assert.deepEqual(edge(g, "web", "prepare"), ["requires"]);
    assert.deepEqual(edge(g, "web", "logger"), ["wants"]);
    assert.deepEqual(edge(g, "metrics", "web"), ["after"], "ordered after, and nothing stronger");
    assert.deepEqual(edge(g, "worker", "web"), ["requires"], "requires implies after: drawn once, as requires");
    assert.deepEqual(edge(g, "app", "web"), ["contains"]);
    assert.deepEqual(edge(g, "default", "app"), ["contains"], "a bundle in a bundle, as the file says");
    assert.deepEqual(edge(g, "backup", "db"), ["start-on"], "start-on = stopping db");
    assert.deepEqual(edge(g, "warmup", "web"), ["schedule"], "schedule = 30s after started web");
    const node = (name: string) => g.nodes.find((n) => n.name === name)!;
    assert.equal(node("eth0-daemon").trigger, "start-on net.eth0=up; stop-on net.eth0=down");
    assert.equal(node("cleanup").trigger, "schedule every 1h");
    assert.equal(node("mount-disk").trigger, "start-on block-added DEVNAME=/dev/sd*");
    assert.equal(node("web").trigger, null);
    assert.equal(layerOf(g, "prepare"), 0);
    assert.equal(layerOf(g, "web"), 2, "after prepare and logger");
    assert.equal(layerOf(g, "worker"), 3);
    assert.equal(layerOf(g, "app"), 4, "below its lowest member");
    assert.equal(layerOf(g, "default"), 5);
    for (const e of g.edges) if (e.kind === "requires" || e.kind === "after") assert.ok(layerOf(g, e.from) > layerOf(g, e.to), `${e.from} below ${e.to}`);
  });

  test("a template is not drawn, never running itself; its instances are, with the job events that name them", () => {
    const g = dependencyGraph(
      compiledDatabase({
        "getty@": "type = longrun\ncommand = /bin/true\n",
        login: "type = longrun\ncommand = /bin/true\nrequires = getty@tty1\n",
        greet: "type = task\ncommand = /bin/true\nstart-on = started getty@tty1\n",
        default: "type = bundle\ncontents = login getty@tty2\n",
      }),
    );
    assert.deepEqual(g.nodes.map((n) => n.name).sort(), ["default", "getty@tty1", "getty@tty2", "greet", "login"]);
    assert.deepEqual(edge(g, "login", "getty@tty1"), ["requires"]);
    assert.deepEqual(edge(g, "greet", "getty@tty1"), ["start-on"]);
    assert.ok(g.edges.every((e) => e.to !== "getty@" && e.from !== "getty@"));
  });

  test("a name reaches what it needs and what needs it, both ways however far, and nothing beside", () => {
    const g = reachedFrom(examples(), "db")!;
    const names = g.nodes.map((n) => n.name).sort();
    // db needs prepare; eth0-daemon requires db, network contains it; backup runs on db's stopping.
    assert.deepEqual(names, ["backup", "db", "eth0-daemon", "network", "prepare"]);
    assert.deepEqual([...new Set(g.nodes.map((n) => n.layer))].sort(), [0, 1, 2, 3], "layers numbered again, none empty");
    assert.ok(g.edges.every((e) => names.includes(e.from) && names.includes(e.to)));
    assert.equal(reachedFrom(g, "nosuch"), null);
  });
});

describe("the graph's pictures", () => {
  test("a hostile name and description are escaped in the SVG, which stays well-formed; DOT quotes them", () => {
    const hostile = `a<b&c"d'e>`;
    const g: DependencyGraph = {
      nodes: [
        { name: hostile, type: "longrun", description: `</text><script>alert("x")</script>`, trigger: "start-on ev K=<&>", layer: 0 },
        { name: "plain", type: "bundle", description: "", trigger: null, layer: 1 },
      ],
      edges: [{ from: "plain", to: hostile, kind: "contains" }],
    };
    const svg = graphSvg(g, `caption with ${hostile}`);
    assert.equal(wellFormed(svg), null);
    assert.ok(!svg.includes(hostile) && !svg.includes("<script"), "nothing of the name is markup");
    assert.ok(svg.includes(escapeXml(hostile)));
    assert.equal(escapeXml(hostile), "a&lt;b&amp;c&quot;d&#39;e&gt;");
    assert.equal(escapeXml("bell\u0007 and a lone \ud800"), "bell\ufffd and a lone \ufffd", "characters XML forbids even escaped");
    assert.equal(dotString(`a"b\\c\nd`), `"a\\"b\\\\c\\nd"`);
    assert.ok(graphDot(g).includes(`${dotString("plain")} -> ${dotString(hostile)}`));
  });

  test("500 services: every name drawn, no row wider than the limit, a bounded SVG; the layout's rows follow the layers", () => {
    const db = compiledDatabase(manyServices(500, 14));
    const g = dependencyGraph(db);
    assert.equal(g.nodes.length, 550);
    const layout = layOut(g);
    const rows = new Map<number, { layer: number; right: number }[]>();
    for (const n of layout.nodes) (rows.get(n.y) ?? rows.set(n.y, []).get(n.y)!).push({ layer: n.layer, right: n.x + n.width });
    for (const row of rows.values()) assert.equal(new Set(row.map((r) => r.layer)).size, 1, "a row holds one layer");
    assert.ok(layout.width <= MAX_ROW_WIDTH, `width ${layout.width}`);
    // A node's layer is below every layer it is ordered after: lower on the page.
    const y = new Map(layout.nodes.map((n) => [n.name, n.y]));
    for (const e of g.edges) if (e.kind === "requires" || e.kind === "after") assert.ok(y.get(e.from)! > y.get(e.to)!, `${e.from} below ${e.to}`);
    const svg = graphSvg(g, "500 services");
    assert.equal(wellFormed(svg), null);
    for (const n of g.nodes) assert.ok(svg.includes(`>${n.name}</text>`), `${n.name} is drawn`);
    assert.ok(svg.length < 600_000, `${svg.length} bytes`);
    // A bundle of all 500 is a count on its box, not 500 lines across the picture.
    const all = graphSvg({ nodes: [...g.nodes, { name: "everything", type: "bundle", description: "", trigger: null, layer: 99 }], edges: [...g.edges, ...g.nodes.map((n) => ({ from: "everything", to: n.name, kind: "contains" as const }))] }, "all");
    assert.ok(all.includes(">contains 550 (not drawn)</text>"));
    assert.equal((all.match(/class="e-contains" d=/g) ?? []).length, (svg.match(/class="e-contains" d=/g) ?? []).length, "the bundles of ten keep their edges");
    const height = Number(/height="(\d+)"/.exec(svg)![1]);
    assert.ok(height < 20_000, `${height} px tall`);
  });

  test("docs/example-graph.svg is what tend graph draws of the example set (regenerate: tend graph > docs/example-graph.svg, on a root with the examples compiled)", () => {
    const g = examples();
    assert.equal(readFileSync(join(REPO, "docs/example-graph.svg"), "utf8"), graphSvg(g, graphCaption(undefined, g.nodes.length, 1)));
  });
});
