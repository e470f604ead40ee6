// contrib/debian: `service`, the tend-aware `policy-rc.d` (what invoke-rc.d asks) and
// `policy-rc.d.deny`, against a real server under a private root: a name tend manages
// is driven through tend, any other falls back to its init script (or is allowed).
// As root, Debian's own invoke-rc.d is run by a real package's postinst: cron's .deb,
// reinstalled (the same version) in a private mount namespace (`unshare -m`) where
// tend's policy-rc.d is bound over /usr/sbin/policy-rc.d; the machine's files are
// never replaced, and the service cron there is tend's stand-in.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { findTool, REPO } from "../helpers.js";
import { BIN, readLines, withRoot, type TestRoot } from "../server/harness.js";

const CONTRIB = join(REPO, "contrib/debian");
const run = promisify(execFile);

/** A contrib script (or any program) with contrib/debian first on PATH and tend pointed at the root. */
async function sh(root: TestRoot, argv: string[], extra: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, PATH: `${CONTRIB}:${process.env.PATH ?? "/usr/bin:/bin"}`, TEND: BIN, TEND_ROOT: root.dir, ...extra };
  try {
    const { stdout, stderr } = await run(argv[0]!, argv.slice(1), { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

/** A daemon that takes SIGHUP as a reload (it ignores it). */
const STAND_IN = "type = longrun\ncommand = sh -c 'trap \"\" HUP; exec sleep 1000'\nreload-signal = HUP\n";

describe("contrib/debian", { concurrency: true }, () => {
  test("service: tend's names through tend, others through their init script", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ demo: STAND_IN });
      const initd = root.path("init.d");
      mkdirSync(initd);
      root.file("init.d/other", `#!/bin/sh\necho "other $1" >> ${root.path("other.log")}\n`);
      chmodSync(join(initd, "other"), 0o755);
      await root.compile();
      const daemon = await root.startDaemon();
      const started = await sh(root, [join(CONTRIB, "service"), "demo", "start"]);
      assert.equal(started.code, 0, started.stderr);
      const first = await root.state("demo");
      assert.equal(first.phase, "up");
      assert.equal((await sh(root, [join(CONTRIB, "service"), "demo", "restart"])).code, 0);
      const second = await root.state("demo");
      assert.notEqual(second.pid, first.pid, "restarted by tend");
      assert.equal((await sh(root, [join(CONTRIB, "service"), "demo", "force-reload"])).code, 0);
      assert.equal((await root.state("demo")).pid, second.pid, "force-reload reloads what has a reload");
      assert.equal((await sh(root, [join(CONTRIB, "service"), "demo", "status"])).code, 0);
      const other = await sh(root, [join(CONTRIB, "service"), "other", "start"], { TEND_INITD: initd });
      assert.equal(other.code, 0, other.stderr);
      assert.deepEqual(readLines(root.path("other.log")), ["other start"], "not tend's: its init script ran");
      const missing = await sh(root, [join(CONTRIB, "service"), "nothing", "start"], { TEND_INITD: initd });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /not a service of tend's, and there is no .*\/nothing/);
      await root.shutdown(daemon);
    }));

  test("policy-rc.d: a tend name's action is carried out by tend and denied to invoke-rc.d; others allowed; .deny denies all", { timeout: 60_000 }, () =>
    withRoot(async (root) => {
      root.services({ demo: STAND_IN });
      await root.compile();
      const daemon = await root.startDaemon();
      const policy = join(CONTRIB, "policy-rc.d");
      const start = await sh(root, [policy, "--quiet", "demo", "start"]);
      assert.equal(start.code, 101, start.stderr);
      assert.equal((await root.state("demo")).phase, "up", "started by tend");
      const first = (await root.state("demo")).pid;
      assert.equal((await sh(root, [policy, "demo", "restart start"])).code, 101);
      assert.notEqual((await root.state("demo")).pid, first, "the first action is the one");
      assert.equal((await sh(root, [policy, "--quiet", "elsewhere", "restart"])).code, 0, "not tend's: allowed");
      assert.equal((await sh(root, [join(CONTRIB, "policy-rc.d.deny"), "--quiet", "demo", "start"])).code, 101);
      await root.shutdown(daemon);
    }));

  const deb = existsSync("/var/cache/apt/archives") ? readdirSync("/var/cache/apt/archives").find((f) => /^cron_.*\.deb$/.test(f)) : undefined;
  const skip =
    process.getuid?.() !== 0
      ? "needs root (dpkg)"
      : findTool("unshare") === null || findTool("dpkg") === null
        ? "needs unshare and dpkg"
        : deb === undefined
          ? "no cron .deb in /var/cache/apt/archives (apt-get install --reinstall --download-only cron)"
          : !existsSync("/usr/sbin/invoke-rc.d")
            ? "needs invoke-rc.d"
            : false;
  /**
   * The commands that put `policy` in place as /usr/sbin/policy-rc.d in a mount
   * namespace: bound over the machine's, or, where it has none (nothing to bind onto),
   * a copy of /usr/sbin with it added bound over /usr/sbin.
   */
  const policyAs = (root: TestRoot, policy: string): string => {
    if (existsSync("/usr/sbin/policy-rc.d")) return `mount --bind ${policy} /usr/sbin/policy-rc.d`;
    const sbin = root.path(`sbin-${basename(policy)}`);
    return `mkdir -p ${sbin} && cp -a /usr/sbin/. ${sbin}/ && cp ${policy} ${sbin}/policy-rc.d && mount --bind ${sbin} /usr/sbin`;
  };
  test("a package's postinst restarts its daemon through tend (cron's .deb reinstalled)", { timeout: 180_000, skip }, (t) =>
    withRoot(async (root) => {
      root.services({ cron: STAND_IN });
      await root.compile();
      const daemon = await root.startDaemon();
      assert.equal((await root.tend("start", "cron")).status, 0);
      const before = (await root.state("cron")).pid;
      const script = `mount --make-rprivate / && ${policyAs(root, join(CONTRIB, "policy-rc.d"))} && exec dpkg -i /var/cache/apt/archives/${deb}`;
      const r = await sh(root, ["unshare", "-m", "sh", "-c", script]);
      // A postinst that failed leaves cron half-configured: configured again with every action denied, as the machine had it.
      if (r.code !== 0) await sh(root, ["unshare", "-m", "sh", "-c", `mount --make-rprivate / && ${policyAs(root, join(CONTRIB, "policy-rc.d.deny"))} && exec dpkg --configure --pending`]);
      if (r.code !== 0 && /lock/.test(r.stderr)) {
        await root.shutdown(daemon);
        return t.skip("dpkg is locked by another install");
      }
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /policy-rc\.d denied execution of restart/, "invoke-rc.d asked tend's policy-rc.d, which did it");
      const after = await root.state("cron");
      assert.equal(after.phase, "up");
      assert.notEqual(after.pid, before, "restarted by tend, from the postinst");
      await root.shutdown(daemon);
    }));
});
