// The SVGs tend draws, opened in a real browser: Debian's chromium, headless, takes a
// screenshot of `tend graph`'s picture of the example set and of `tend analyze plot`'s
// of its boot (as a real server recorded it: test/analyze/example-boot.json). Each must be well-formed XML (checked here, strictly),
// and its picture neither blank nor the error box chromium shows for an SVG it cannot
// parse (a #fdd box: a broken SVG, the control, shows it). Skipped where no chromium.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../../src/compile/compile.js";
import { orderingOf, plotData, plotSvg } from "../../src/analyze/plot-svg.js";
import { dependencyGraph } from "../../src/graph/graph-model.js";
import { graphSvg } from "../../src/graph/graph-svg.js";
import { EXAMPLES, childEnv, show, tempDir } from "../helpers.js";
import { recordedExampleBoot } from "../analyze/timeline-fixture.js";
import { decodePng, type Image } from "./png.js";
import { wellFormed } from "./xml.js";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p)) ?? null;
const SKIP = CHROMIUM === null ? "no chromium at /usr/bin/chromium (Debian's 'chromium' package; .ci/run installs it as root)" : false;
/** A screenshot takes a second or two; a chromium that hangs is killed at this deadline. */
const DEADLINE_MS = 90_000;

/** Chromium's screenshot of the SVG file at `path` in a `width` × `height` window, its profile in `dir`. */
function screenshot(path: string, width: number, height: number, dir: string): Promise<Image> {
  const png = join(dir, "shot.png");
  const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-crash-reporter", "--disable-breakpad", "--hide-scrollbars"];
  args.push(`--user-data-dir=${join(dir, "profile")}`, `--screenshot=${png}`, `--window-size=${width},${height}`, `file://${path}`);
  return new Promise((resolve, reject) => {
    // Its own process group, so that the deadline ends chromium's helpers with it.
    const child = spawn(CHROMIUM!, args, { detached: true, stdio: ["ignore", "ignore", "pipe"], env: childEnv({ HOME: dir }) });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => void (stderr += d.toString()));
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), DEADLINE_MS);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 || !existsSync(png)) return reject(new Error(`chromium ended ${signal ?? code} without a screenshot:\n${stderr.slice(-2000)}`));
      resolve(decodePng(readFileSync(png)));
    });
  });
}

/** How many pixels are not white, and how many are the pink of chromium's XML error box (#fdd). */
function count(image: Image): { ink: number; errorBox: number } {
  let ink = 0;
  let errorBox = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const [r, g, b] = image.pixel(x, y);
      if (r < 250 || g < 250 || b < 250) ink++;
      if (r === 255 && g === 221 && b === 221) errorBox++;
    }
  }
  return { ink, errorBox };
}

const size = (svg: string): [number, number] => {
  const m = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(svg);
  assert.ok(m, "the SVG says its size");
  return [Math.min(1600, Number(m[1])), Math.min(1200, Number(m[2]))];
};

/** Writes `svg`, has chromium draw it, and returns what the picture holds. */
async function drawn(svg: string): Promise<{ ink: number; errorBox: number; pixels: number }> {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, "picture.svg");
    writeFileSync(path, svg);
    const [w, h] = size(svg);
    const image = await screenshot(path, w, h, dir);
    return { ...count(image), pixels: image.width * image.height };
  } finally {
    remove();
  }
}

describe("the SVGs in a real browser", { skip: SKIP }, () => {
  const r = compile({ sourceDir: EXAMPLES, hostChecks: false });
  assert.ok(r.compiled, show(r.diagnostics));
  const db = r.compiled;

  test("tend graph's picture of the example set: well-formed, drawn, no error box", { timeout: DEADLINE_MS + 10_000 }, async () => {
    const svg = graphSvg(dependencyGraph(db), "the example set");
    assert.equal(wellFormed(svg), null);
    const seen = await drawn(svg);
    assert.equal(seen.errorBox, 0, "chromium parsed it");
    assert.ok(seen.ink > seen.pixels * 0.03, `${seen.ink} of ${seen.pixels} pixels drawn`);
  });

  test("tend analyze plot's picture of a recorded boot: well-formed, drawn, no error box", { timeout: DEADLINE_MS + 10_000 }, async () => {
    const timeline = recordedExampleBoot();
    const svg = plotSvg(plotData(timeline.boot!), "the example set's boot", { orderedAfter: orderingOf(timeline.graph) });
    assert.equal(wellFormed(svg), null);
    const seen = await drawn(svg);
    assert.equal(seen.errorBox, 0, "chromium parsed it");
    assert.ok(seen.ink > seen.pixels * 0.03, `${seen.ink} of ${seen.pixels} pixels drawn`);
  });

  test("the control: an SVG with a bare '&' is refused by the check here and shown as chromium's error box", { timeout: DEADLINE_MS + 10_000 }, async () => {
    const broken = `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><text x="10" y="20">a & b</text></svg>\n`;
    assert.match(wellFormed(broken) ?? "", /a bare '&'/);
    const seen = await drawn(broken);
    assert.ok(seen.errorBox > 1000, `${seen.errorBox} pixels of the error box`);
  });
});
