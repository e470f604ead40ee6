// OpenSSH's sshd as Debian ships it (ssh.service: EnvironmentFile=-/etc/default/ssh,
// ExecStart=/usr/sbin/sshd -D $SSHD_OPTS, Type=notify, RuntimeDirectory=sshd): its
// options from an env-file like /etc/default/ssh, its privilege-separation directory
// made by runtime-directory, ready when it says READY=1 (Debian's sshd links libsystemd
// for that), its banner read from a loopback port, a reload (ExecReload's check and HUP)
// whose new configuration the banner shows, and an ordered stop that leaves no sshd.
//
// sshd run by root insists on /run/sshd (compiled in); tend under a private root makes
// ROOT/run/sshd. So the server runs in a mount namespace of its own where ROOT/run is
// bound onto /run: the directory tend makes is the one sshd uses, and the machine's /run
// is not touched. Where no namespace can be made (a container without CAP_SYS_ADMIN), the
// machine's /run/sshd is used, made for the test only if it did not exist and removed
// after. Run by another user, sshd needs no such directory (it cannot change users).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { findTool } from "../helpers.js";
import { IS_ROOT, freePort, processTable, waitFor, withRoot, type TestRoot } from "../server/harness.js";
import { allGone, converse, daemon } from "./daemons.js";

const SSHD = daemon("sshd", "openssh-server");
const KEYGEN = findTool("ssh-keygen");

/** Whether the server can run in a mount namespace with ROOT/run bound onto /run. */
const namespaces = IS_ROOT && findTool("unshare") !== null && spawnSync("unshare", ["--mount", "--propagation", "private", "true"], { stdio: "ignore" }).status === 0;

/** The server's shell prefix: ROOT/run bound onto /run in a mount namespace of its own, then the server. */
const ownRun = (root: TestRoot): string => `exec unshare --mount --propagation private sh -c 'mount --bind "$1" /run && shift && exec "$@"' sh '${root.path("run")}' "$0" "$@"`;

/**
 * Without a namespace, as root: the machine's /run/sshd, made here if it is missing;
 * the returned function removes it again only if the test made it.
 */
function machinePrivsepDir(): () => void {
  if (existsSync("/run/sshd")) return () => {};
  mkdirSync("/run/sshd", { mode: 0o755 });
  return () => rmdirSync("/run/sshd");
}

describe("sshd as Debian ships it", () => {
  test("$SSHD_OPTS from an env-file, its runtime directory, ready by notify, its banner on a loopback port, a reload, an ordered stop", { timeout: 120_000, skip: SSHD.skip || (KEYGEN === null && "ssh-keygen is not installed (Debian package openssh-client)") }, () =>
    withRoot(async (root) => {
      chmodSync(root.dir, 0o755); // sshd's privilege-separated child (sshd, not root) reads through it
      const port = await freePort();
      const hostKey = root.path("ssh_host_ed25519_key");
      execFileSync(KEYGEN!, ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
      const conf = root.path("sshd_config");
      writeFileSync(
        conf,
        [
          `Port ${port}`,
          "ListenAddress 127.0.0.1",
          `HostKey ${hostKey}`,
          `PidFile ${root.path("sshd.pid")}`,
          "UsePAM no",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "AuthorizedKeysFile none",
          "",
        ].join("\n"),
      );
      const config = readFileSync(conf, "utf8");
      // /etc/default/ssh as Debian ships it, with the options filled in.
      const defaults = root.path("default-ssh");
      writeFileSync(defaults, `# Default settings for openssh-server. This file is sourced by /bin/sh from\n# /etc/init.d/ssh.\n\n# Options to pass to sshd\nSSHD_OPTS="-f ${conf} -e -o LogLevel=VERBOSE"\n`, { mode: 0o644 });
      root.service(
        "sshd",
        [
          "description = OpenBSD Secure Shell server",
          "type = longrun",
          `env-file = -${defaults}`,
          "pre-start = /usr/sbin/sshd -t $SSHD_OPTS",
          "command = /usr/sbin/sshd -D $SSHD_OPTS",
          "ready = notify",
          "restart = on-failure",
          "success-exit = 255",
          "runtime-directory = sshd",
          "runtime-directory-mode = 0755",
          // ssh.service's two ExecReload lines in one: check the configuration, then HUP the listener.
          `reload = sh -c '/usr/sbin/sshd -t "$@" && exec /bin/kill -HUP "$MAINPID"' sh $SSHD_OPTS`,
          "",
        ].join("\n"),
      );
      await root.compile();
      mkdirSync(root.path("run"), { mode: 0o755 });
      const removePrivsep = IS_ROOT && !namespaces ? machinePrivsepDir() : () => {};
      try {
        const server = await root.startDaemon(namespaces ? { shellPrefix: ownRun(root) } : {});
        const start = await root.tend("start", "sshd");
        assert.equal(start.status, 0, `${start.stdout}${start.stderr}\n${server.output()}`);
        const up = await root.state("sshd");
        assert.equal(up.phase, "up");
        const main = up.pid!;
        // sshd sets its title to "sshd: ARGV… [listener] …", its arguments as it got them.
        assert.match(readFileSync(`/proc/${main}/cmdline`, "utf8"), new RegExp(`^sshd: /usr/sbin/sshd -D -f ${conf} -e -o LogLevel=VERBOSE \\[listener\\]`), "$SSHD_OPTS split into sshd's arguments");

        const privsep = root.path("run/sshd");
        const st = lstatSync(privsep);
        assert.ok(st.isDirectory());
        assert.equal(st.mode & 0o7777, 0o755);
        assert.equal(st.uid, process.getuid!(), "the runtime directory is the service's user's (root's, as sshd requires)");

        const banner = await converse(port, null, /\n/);
        assert.match(banner, /^SSH-2\.0-OpenSSH_\S+/, "sshd's banner");
        // The connection's own sshd (a child of the main) ends once it is closed.
        const children = processTable().filter((p) => p.ppid === main).map((p) => p.pid);
        const logs = await waitFor("sshd's log to say it listens", async () => {
          const r = await root.tend("logs", "sshd");
          return /Server listening on 127\.0\.0\.1 port \d+/.test(r.stdout) ? r.stdout : null;
        });
        assert.match(logs, new RegExp(`port ${port}`));

        // A reload: the new configuration's VersionAddendum is in the banner of the same listener, re-executed.
        writeFileSync(conf, `${config}VersionAddendum reloaded-by-tend\n`);
        const reload = await root.tend("reload", "sshd");
        assert.equal(reload.status, 0, `${reload.stdout}${reload.stderr}\n${server.output()}`);
        await waitFor("the reloaded configuration's banner", async () => / reloaded-by-tend\r?\n$/.test(await converse(port, null, /\n/)));
        const reloaded = await root.state("sshd");
        assert.deepEqual([reloaded.phase, reloaded.pid], ["up", main], "a reload is not a restart");

        const stop = await root.tend("stop", "sshd");
        assert.equal(stop.status, 0, stop.stdout + stop.stderr);
        assert.equal((await root.state("sshd")).phase, "down");
        await allGone("sshd and its connections' processes", [main, ...children]);
        await waitFor("the runtime directory to go", () => !existsSync(privsep));
        await root.shutdown(server);
      } finally {
        removePrivsep();
      }
    }),
  );
});
