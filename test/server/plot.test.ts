// `tend analyze plot` against a real server: a boot of a small set (one service that
// fails) drawn as an SVG timeline — well-formed, a row per service of the boot with
// its name, the failure marked — and its rows with --json; nothing recorded: an error.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { PlotData } from "../../src/analyze/plot-svg.js";
import { wellFormed } from "../draw/xml.js";
import { withRoot } from "./harness.js";

const quick = "type = longrun\nready = fd\ncommand = sh -c 'echo >&3; exec sleep 1000'\n";

describe("tend analyze plot", () => {
  test("the boot as an SVG timeline, its rows as JSON; with nothing recorded, an error and no SVG", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({
        prep: "type = oneshot\nup = true\n",
        db: `${quick}requires = prep\n`,
        web: `${quick}requires = db\n`,
        bad: "type = oneshot\nup = sh -c 'exit 3'\n",
        default: "type = bundle\ncontents = web bad\n",
      });
      await root.compile();
      const idle = await root.startDaemon();
      const nothing = await root.tend("analyze", "plot");
      assert.deepEqual([nothing.status, nothing.stdout], [1, ""]);
      assert.match(nothing.stderr, /^tend: nothing is recorded to plot yet/);
      await root.shutdown(idle);

      const daemon = await root.startDaemon({ boot: true });
      await root.waitPhase("web", "up");
      await root.waitPhase("bad", "failed");
      const plot = await root.tend("analyze", "plot");
      assert.equal(plot.status, 0, plot.stderr);
      assert.equal(wellFormed(plot.stdout), null);
      assert.match(plot.stdout, /tend analyze plot: the boot of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, 4 services/);
      for (const name of ["prep", "db", "web"]) assert.match(plot.stdout, new RegExp(`class="n" text-anchor="end">${name}</text>`));
      assert.match(plot.stdout, /class="n f" text-anchor="end">bad<\/text>/, "the failed one in red");
      assert.match(plot.stdout, /marker-end="url\(#k\)"/, "db waited for prep, web for db: connectors from the server's graph");

      const { data } = await root.json<PlotData>("analyze", "plot");
      assert.equal(data.kind, "boot");
      const order = data.rows.map((r) => r.service);
      assert.ok(order.indexOf("prep") < order.indexOf("db") && order.indexOf("db") < order.indexOf("web"), order.join(" "));
      assert.match(data.rows.find((r) => r.service === "bad")!.runs[0]!.failed!, /exited with code 3/);
      await root.shutdown(daemon);
    }),
  );
});
