// The resolved graph and the boot plan: bundles expanded, `before` turned into
// `after`, `wants` pulled in, and the exact waves of a small known graph.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { compile } from "../../src/compile/compile.js";
import { closure, expandName, plan } from "../../src/compile/plan.js";
import { waitsForTrigger } from "../../src/config/service.js";
import { EXAMPLES, compileFiles, show } from "../helpers.js";

const longrun = (...lines: string[]): string => ["type = longrun", "command = /bin/true", ...lines, ""].join("\n");
const oneshot = (...lines: string[]): string => ["type = oneshot", "up = /bin/true", ...lines, ""].join("\n");
const task = (...lines: string[]): string => ["type = task", "command = /bin/true", ...lines, ""].join("\n");
const bundle = (contents: string): string => `type = bundle\ncontents = ${contents}\n`;

function accepted(files: Record<string, string>) {
  const r = compileFiles(files);
  assert.equal(r.accepted, true, show(r.diagnostics));
  return r.compiled!;
}

describe("boot waves", () => {
  test("a small known graph gives exact waves", () => {
    const c = accepted({
      mount: oneshot(),
      net: oneshot(),
      db: longrun("requires = mount"),
      cache: longrun("requires = mount net"),
      web: longrun("requires = db cache"),
      logger: longrun(),
      metrics: longrun("wants = logger", "after = web"),
      report: task("after = db"),
      unused: longrun("requires = db"),
      default: bundle("web metrics"),
    });
    assert.deepEqual(c.boot, [["logger", "mount", "net"], ["cache", "db"], ["web"], ["metrics"]]);
  });

  test("before orders like after, turned around", () => {
    const c = accepted({ a: longrun("before = b"), b: longrun(), c: longrun("before = a"), default: bundle("a b c") });
    assert.deepEqual(c.boot, [["c"], ["a"], ["b"]]);
    assert.deepEqual(c.graph.services.b!.after, ["a"]);
  });

  test("ordering only applies between services that are both starting", () => {
    const c = accepted({ a: longrun("after = b"), b: longrun(), default: bundle("a") });
    assert.deepEqual(c.boot, [["a"]]);
  });

  test("wants pulls its target in and orders after it", () => {
    const c = accepted({ a: longrun("wants = b"), b: longrun("wants = c"), c: longrun(), default: bundle("a") });
    assert.deepEqual(c.boot, [["c"], ["b"], ["a"]]);
    assert.deepEqual(c.graph.services.a, { requires: [], wants: ["b"], after: ["b"] });
  });

  test("independent services share the first wave, sorted", () => {
    const c = accepted({ zeta: longrun(), alpha: longrun(), mid: task(), default: bundle("zeta alpha mid") });
    assert.deepEqual(c.boot, [["alpha", "mid", "zeta"]]);
  });

  test("a diamond", () => {
    const c = accepted({
      base: oneshot(),
      left: longrun("requires = base"),
      right: longrun("requires = base"),
      top: longrun("requires = left right"),
      default: bundle("top"),
    });
    assert.deepEqual(c.boot, [["base"], ["left", "right"], ["top"]]);
  });
});

describe("bundles", () => {
  test("nested bundles expand to their services, without duplicates", () => {
    const c = accepted({
      web: longrun(),
      worker: longrun(),
      logger: longrun(),
      app: bundle("web worker"),
      infra: bundle("logger app"),
      default: bundle("app infra"),
    });
    assert.deepEqual(c.graph.bundles.app, ["web", "worker"]);
    assert.deepEqual(c.graph.bundles.infra!.sort(), ["logger", "web", "worker"]);
    assert.deepEqual(c.graph.bundles.default!.sort(), ["logger", "web", "worker"]);
    assert.deepEqual(c.boot, [["logger", "web", "worker"]]);
    assert.equal("app" in c.graph.services, false, "a bundle is not a service in the graph");
  });

  test("requiring a bundle requires each of its services", () => {
    const c = accepted({
      eth0: oneshot(),
      wifi: oneshot(),
      network: bundle("eth0 wifi"),
      web: longrun("requires = network"),
      default: bundle("web"),
    });
    assert.deepEqual(c.graph.services.web!.requires, ["eth0", "wifi"]);
    assert.deepEqual(c.boot, [["eth0", "wifi"], ["web"]]);
  });

  test("ordering after a bundle orders after each of its services", () => {
    const c = accepted({ a: oneshot(), b: oneshot(), grp: bundle("a b"), late: longrun("after = grp"), default: bundle("grp late") });
    assert.deepEqual(c.boot, [["a", "b"], ["late"]]);
  });

  test("an empty bundle stands for nothing", () => {
    const r = compileFiles({ empty: "type = bundle\ncontents = \\\n\n", default: bundle("empty") });
    assert.equal(r.accepted, false, "an empty 'contents' value is an error");
    const c = accepted({ empty: "type = bundle\n", web: longrun(), default: bundle("empty") });
    assert.deepEqual(c.graph.bundles.empty, []);
    assert.deepEqual(c.boot, []);
  });
});

describe("plan() on the resolved graph", () => {
  const c = ((): ReturnType<typeof accepted> => {
    const r = compile({ sourceDir: EXAMPLES, hostChecks: false });
    assert.equal(r.accepted, true, show(r.diagnostics));
    return r.compiled!;
  })();
  const triggered = (name: string): boolean => waitsForTrigger(c.services[name]!);

  test("the examples boot in waves that respect every ordering edge", () => {
    assert.deepEqual(c.boot, plan(c.graph, ["default"], triggered).waves);
    const waveOf = new Map<string, number>();
    c.boot.forEach((wave, i) => wave.forEach((name) => waveOf.set(name, i)));
    assert.equal(waveOf.size, c.boot.flat().length, "no service is in two waves");
    for (const [name, w] of waveOf) {
      for (const dep of c.graph.services[name]!.after) {
        if (waveOf.has(dep)) assert.ok(waveOf.get(dep)! < w, `${name} (wave ${w}) must come after ${dep} (wave ${waveOf.get(dep)})`);
      }
      for (const dep of [...c.graph.services[name]!.requires, ...c.graph.services[name]!.wants]) {
        assert.ok(waveOf.has(dep), `${name} pulls in ${dep}`);
      }
    }
  });

  test("the examples' boot set is the closure of default", () => {
    assert.deepEqual([...closure(c.graph, ["default"], triggered)].sort(), c.boot.flat().sort());
    // Scheduled tasks in 'default' wait for their clock: booting does not run them.
    for (const name of ["cleanup", "hourly-report"]) assert.equal(c.boot.flat().includes(name), false, name);
    // web wants logger, and logger is in the boot set although only a want pulls it.
    assert.ok(c.graph.services.web!.wants.includes("logger"));
    // Services not reachable from default are not booted.
    for (const name of ["mount-disk", "backup", "eth0-daemon"]) assert.equal(c.boot.flat().includes(name), false, name);
  });

  test("expandName and plans for other roots", () => {
    assert.deepEqual(expandName(c.graph, "web"), ["web"]);
    assert.deepEqual(expandName(c.graph, "nosuch"), []);
    assert.deepEqual([...expandName(c.graph, "network")], ["eth0-daemon"]);
    assert.deepEqual(plan(c.graph, ["prepare"]).waves, [["prepare"]]);
    assert.deepEqual(plan(c.graph, ["worker"]).waves, [["prepare"], ["logger"], ["web"], ["worker"]]);
    assert.deepEqual(plan(c.graph, []).waves, []);
  });
});
