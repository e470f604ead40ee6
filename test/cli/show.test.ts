// `tend cat NAME` and `tend show NAME` against a real server: the source file with its
// path (and whether it changed since it was compiled), the definition with every
// default filled in; and that neither is for everyone, since both carry `env` values.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, chmodSync } from "node:fs";
import type { ServiceDef } from "../../src/config/service.js";
import { IS_ROOT, runCli, withRoot } from "../server/harness.js";

const WEB = "# the web server\ntype = longrun\ncommand = sleep 1000\nrequires = prep\nenv = PASSWORD=hunter2\n";

describe("tend cat and tend show", { concurrency: true }, () => {
  test("cat: the path as a comment, then the file; marked when it changed since it was compiled. show: every field, defaults included; --json: the record", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ web: WEB, prep: "type = oneshot\nup = true\n", app: "type = bundle\ncontents = web\n" });
      await root.compile();
      const daemon = await root.startDaemon();
      const file = `${root.sources}/web`;

      const cat = await root.tend("cat", "web");
      assert.equal(cat.status, 0, cat.stderr);
      assert.equal(cat.stdout, `# ${file}\n${WEB}`);
      const json = await root.json<{ path: string; text: string; changed: boolean | null }>("cat", "web");
      assert.deepEqual(json.data, { path: file, text: WEB, changed: false });
      appendFileSync(file, "stop-timeout = 3s\n");
      const changed = await root.tend("cat", "web");
      assert.equal(changed.stdout.split("\n")[0], `# ${file} (changed since it was compiled: the server runs what it held then; 'tend apply' runs this)`);
      assert.match(changed.stdout, /stop-timeout = 3s\n$/);

      const show = await root.tend("show", "web");
      assert.equal(show.status, 0, show.stderr);
      const fields = new Map(show.stdout.trimEnd().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
      assert.equal(fields.get("generation"), "1");
      assert.equal(fields.get("type"), "longrun");
      assert.equal(fields.get("file"), file);
      assert.equal(fields.get("command"), '["sleep","1000"]');
      assert.equal(fields.get("requires"), "prep", "references by name");
      assert.equal(fields.get("stopTimeoutMs"), "10000", "the running definition, defaults filled in, not the edited file");
      assert.equal(fields.get("restart"), "on-failure");
      assert.equal(fields.get("log"), "file");
      const record = await root.json<{ generation: number; definition: ServiceDef }>("show", "web");
      assert.equal(record.data.generation, 1);
      assert.equal(record.data.definition.restartDelayMs, 200);
      assert.deepEqual(record.data.definition.requires.map((r) => r.name), ["prep"]);
      assert.equal(record.data.definition.env.PASSWORD, "hunter2");
      const bundle = await root.json<{ definition: ServiceDef }>("show", "app");
      assert.deepEqual(bundle.data.definition.contents.map((r) => r.name), ["web"]);

      for (const cmd of ["cat", "show"]) {
        const unknown = await root.tend(cmd, "nosuch");
        assert.deepEqual([unknown.status, unknown.stderr], [1, "tend: unknown service: nosuch\n"]);
        assert.equal((await root.tend(cmd)).status, 2, `${cmd} needs a name`);
      }
      await root.shutdown(daemon);
    }),
  );

  test("as another user, cat and show are refused: they carry env values", { timeout: 60_000, skip: IS_ROOT ? false : "needs root: the test connects as nobody with setpriv" }, () =>
    withRoot(async (root) => {
      chmodSync(root.dir, 0o755);
      root.services({ web: `${WEB}allow = nobody\n`, prep: "type = oneshot\nup = true\n" });
      await root.compile();
      const daemon = await root.startDaemon();
      for (const cmd of ["cat", "show"]) {
        const r = await runCli(["--root", root.dir, cmd, "web"], { wrap: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] });
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`^tend: permission denied: '${cmd} web' needs root or the control group`));
        assert.doesNotMatch(r.stdout + r.stderr, /hunter2/);
      }
      await root.shutdown(daemon);
    }),
  );
});
