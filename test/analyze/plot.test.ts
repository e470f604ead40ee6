// `tend analyze plot`'s renderer: a recorded boot's rows (sorted by start, runs and
// failures read off the transitions), the SVG (well-formed, every name escaped, each
// run's bars and its readiness mark, the connectors), 500 rows in bounded size, and
// plotCommand's output.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../src/compile/compile.js";
import { duration, orderingOf, plotData, plotSvg } from "../../src/analyze/plot-svg.js";
import type { Span, Timeline } from "../../src/analyze/timeline.js";
import { plotCommand } from "../../src/cli/plot.js";
import { escapeXml } from "../../src/draw/svg.js";
import type { Output } from "../../src/cli/output.js";
import { EXAMPLES, REPO, compiledDatabase, show } from "../helpers.js";
import { wellFormed } from "../draw/xml.js";
import { bootTimeline, recordedExampleBoot } from "./timeline-fixture.js";

function examplesBoot(): { timeline: Timeline; orderedAfter: Record<string, string[]> } {
  const r = compile({ sourceDir: EXAMPLES, hostChecks: false });
  assert.ok(r.compiled, show(r.diagnostics));
  const timeline = bootTimeline(r.compiled, { crashing: ["flaky"], takes: { prepare: 12, logger: 140, web: 260 } });
  return { timeline, orderedAfter: orderingOf(r.compiled.graph) };
}

/** An Output that keeps what is written. */
function captured(json: boolean): Output & { text: () => string } {
  let text = "";
  return { json, colour: false, line: (t = "") => void (text += `${t}\n`), error: (t) => void (text += `error: ${t}\n`), data: (v) => void (text += JSON.stringify(v)), text: () => text };
}

describe("the plot", () => {
  test("the example set's boot: a row per service in the order they began, runs, readiness, the failure, connectors", () => {
    const { timeline, orderedAfter } = examplesBoot();
    const data = plotData(timeline.boot!);
    const order = data.rows.map((r) => r.service);
    assert.deepEqual(new Set(order), new Set(timeline.boot!.services));
    const start = (name: string): number => data.rows.find((r) => r.service === name)!.runs[0]!.starting;
    for (let i = 1; i < order.length; i++) assert.ok(start(order[i - 1]!) <= start(order[i]!), `${order[i - 1]} began before ${order[i]}`);
    assert.ok(order.indexOf("prepare") < order.indexOf("web") && order.indexOf("web") < order.indexOf("worker"));
    const web = data.rows.find((r) => r.service === "web")!.runs;
    assert.equal(web.length, 1);
    assert.ok(Math.abs(web[0]!.ready! - web[0]!.starting - 260.2) < 0.01, "up 260 ms after its spawn");
    const flaky = data.rows.find((r) => r.service === "flaky")!.runs;
    assert.equal(flaky.length, 4, "three restarts, then failed");
    assert.match(flaky.at(-1)!.failed!, /^restart limit hit/);
    assert.match(flaky[1]!.waits[0]!.why, /^restarting in 0\.1s/);

    const svg = plotSvg(data, "the examples", { orderedAfter });
    assert.equal(wellFormed(svg), null);
    for (const name of order) assert.ok(svg.includes(`>${name}</text>`), `${name} is named`);
    assert.ok(svg.includes(`class="n f" text-anchor="end">flaky</text>`), "a failed service's name in red");
    assert.ok(svg.includes(">260 ms</text>"), "how long web took to be ready");
    assert.equal((svg.match(/class="r"/g) ?? []).length, 1 + data.rows.flatMap((r) => r.runs).filter((r) => r.ready !== null).length, "a readiness mark per ready run, and the legend's");
    assert.ok((svg.match(/marker-end="url\(#k\)"/g) ?? []).length >= 4, "connectors: logger, tune, web, worker waited for something");
    assert.ok(!plotSvg(data, "no ordering").includes(`class="k" d=`), "no connectors without the ordering");
    assert.match(svg, /boot complete: \d+ ms/);
  });

  test("a hostile name and reason are escaped; durations read as people read them", () => {
    const hostile = `x<y&z"'>`;
    const span: Span = {
      kind: "start",
      names: [hostile],
      at: 1000,
      services: [hostile],
      completeAt: null,
      transitions: [
        { at: 1000, service: hostile, kind: "asked", command: "start" },
        { at: 1001, service: hostile, kind: "phase", phase: "starting", reason: null },
        { at: 1002, service: hostile, kind: "spawn", role: "main" },
        { at: 1500, service: hostile, kind: "phase", phase: "failed", reason: `exited with <&> "status" 1` },
      ],
      dropped: 0,
    };
    const svg = plotSvg(plotData(span), hostile);
    assert.equal(wellFormed(svg), null);
    assert.ok(!svg.includes(hostile) && !svg.includes("<&>"));
    assert.ok(svg.includes(escapeXml(hostile)));
    assert.deepEqual([duration(12.4), duration(1250), duration(200_000), duration(60_000)], ["12 ms", "1.25 s", "3 min 20 s", "1 min"]);
  });

  test("500 services: every name, a row each, a bounded SVG", () => {
    const files: Record<string, string> = { default: "" };
    const names: string[] = [];
    for (let i = 0; i < 500; i++) {
      const name = `svc-${String(i).padStart(3, "0")}`;
      const needs = i === 0 ? "" : `requires = ${[...new Set([names[(i * 7) % i], names[Math.floor(i / 2)]])].join(" ")}\n`;
      files[name] = `type = longrun\ncommand = /bin/true\n${needs}`;
      names.push(name);
    }
    files.default = `type = bundle\ncontents = ${names.join(" ")}\n`;
    const db = compiledDatabase(files);
    const data = plotData(bootTimeline(db, { seed: 5 }).boot!);
    assert.equal(data.rows.length, 500);
    const svg = plotSvg(data, "500", { orderedAfter: orderingOf(db.graph) });
    assert.equal(wellFormed(svg), null);
    for (const n of names) assert.ok(svg.includes(`>${n}</text>`), `${n} is named`);
    assert.ok(svg.length < 1_000_000, `${svg.length} bytes`);
    const height = Number(/height="(\d+)"/.exec(svg)![1]);
    assert.ok(height >= 500 * 16 && height < 500 * 16 + 200, `${height} px: 16 a row`);
  });

  test("plotCommand: the SVG on stdout, --json its rows, a clear error when nothing is recorded", () => {
    const { timeline } = examplesBoot();
    const out = captured(false);
    assert.equal(plotCommand(out, timeline), 0);
    assert.match(out.text(), /^<\?xml .*\n<svg [^]*tend analyze plot: the boot of 2026-12-02 09:00:00 UTC, 8 services[^]*<\/svg>\n$/);
    const json = captured(true);
    plotCommand(json, timeline);
    const data = JSON.parse(json.text()) as ReturnType<typeof plotData>;
    assert.equal(data.kind, "boot");
    assert.equal(data.rows.length, 8);
    assert.throws(() => plotCommand(captured(false), { ...timeline, boot: null, start: null }), /nothing is recorded to plot yet/);
  });

  test("docs/example-plot.svg is what plotCommand draws of the recorded boot of the example set", () => {
    const timeline = recordedExampleBoot();
    const out = captured(false);
    plotCommand(out, timeline, timeline.graph);
    assert.equal(readFileSync(join(REPO, "docs/example-plot.svg"), "utf8"), out.text());
    const data = plotData(timeline.boot!);
    assert.equal(data.rows.length, 8);
    assert.match(data.rows.find((r) => r.service === "flaky")!.runs.at(-1)!.failed!, /^restart limit hit/);
  });
});
