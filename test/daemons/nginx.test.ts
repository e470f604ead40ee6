// nginx as Debian ships it (nginx.service: Type=forking, PIDFile=/run/nginx.pid,
// ExecStart=nginx -g 'daemon on; master_process on;', ExecReload=… -s reload, stop by
// QUIT): its default daemon mode under `pid-file`, a private configuration on a
// loopback port. Up with its master's pid once the pid file names it and the master
// listens; serving; `tend reload` by its own `-s reload`, the same master serving the
// new configuration; its master killed, restarted by its launcher; an ordered stop
// leaving no nginx. With cgroup tracking only: nginx's master leaves its launcher's
// session and rewrites its environment (its process titles), so without cgroups the
// keeper cannot tell it is the service's and refuses it (docs/service-files.md, pid-file).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { IS_ROOT, freePort, processTable, waitFor, withRoot } from "../server/harness.js";
import { allGone, daemon, httpGet } from "./daemons.js";

const cgroups = IS_ROOT && readFileSync("/proc/self/mountinfo", "utf8").includes(" - cgroup2 ");
const NGINX = daemon("nginx", "nginx-light", { root: "cgroup tracking (nginx's master leaves its launcher's session and rewrites its environment)" });
const skip = NGINX.skip || (cgroups ? false : "cgroup tracking needs a cgroup2 hierarchy");

const readPid = async (path: string): Promise<number> => Number(await waitFor(`a pid in ${path}`, () => existsSync(path) && readFileSync(path, "utf8").trim()));
const workersOf = (master: number): number[] => processTable().filter((p) => p.ppid === master && !p.zombie).map((p) => p.pid);

describe("nginx as Debian ships it", () => {
  test("its daemon mode: up with its master's pid, serving; reloaded by -s reload; its master killed, restarted; an ordered stop", { timeout: 120_000, skip }, () =>
    withRoot(async (root) => {
      const port = await freePort();
      const pidFile = root.path("nginx.pid");
      const conf = root.path("nginx.conf");
      const temp = (what: string): string => `${what}_temp_path ${root.path(`nginx-${what}`)};`;
      // What /etc/nginx/nginx.conf says that matters here, for a private instance.
      const configure = (generation: number): void =>
        writeFileSync(
          conf,
          [
            `pid ${pidFile};`,
            `error_log ${root.path("nginx-error.log")};`,
            "events {}",
            `http { access_log off; ${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(temp).join(" ")}`,
            `  server { listen 127.0.0.1:${port}; location / { return 200 "generation ${generation}\\n"; } } }`,
            "",
          ].join("\n"),
        );
      configure(1);
      const nginx = `${NGINX.path} -c ${conf} -p ${root.dir} -g 'daemon on; master_process on;'`;
      root.service(
        "nginx",
        [
          "description = A high performance web server and a reverse proxy server",
          "type = longrun",
          `pre-start = ${nginx} -t -q`,
          `command = ${nginx}`,
          `pid-file = ${pidFile}`,
          `ready = tcp:127.0.0.1:${port}`,
          `reload = ${nginx} -s reload`,
          "stop-signal = QUIT",
          "stop-timeout = 5s",
          "restart-delay = 100ms",
          "",
        ].join("\n"),
      );
      await root.compile();
      const server = await root.startDaemon();
      const start = await root.tend("start", "nginx");
      assert.equal(start.status, 0, `${start.stdout}${start.stderr}\n${server.output()}`);
      const up = await root.state("nginx");
      assert.equal(up.pid, await readPid(pidFile), "the main is the master its pid file names, not the launcher");
      assert.match(readFileSync(`/proc/${up.pid}/cmdline`, "utf8"), /^nginx: master process/);
      assert.match(await httpGet(port, "/"), /\r\n\r\ngeneration 1\n$/);

      configure(2);
      const reload = await root.tend("reload", "nginx");
      assert.equal(reload.status, 0, `${reload.stdout}${reload.stderr}\n${server.output()}`);
      await waitFor("the new configuration served", async () => /generation 2\n$/.test(await httpGet(port, "/")));
      assert.equal((await root.state("nginx")).pid, up.pid, "reloaded, not restarted");

      const workers = workersOf(up.pid!);
      process.kill(up.pid!, "SIGKILL");
      const again = await root.waitPhase("nginx", (s) => s.phase === "up" && s.pid !== null && s.pid !== up.pid);
      await allGone("the killed master's workers, which went with it", workers);
      assert.match(await httpGet(port, "/"), /generation 2\n$/, "the new master has the port");

      const last = [again.pid!, ...workersOf(again.pid!)];
      assert.equal((await root.tend("stop", "nginx")).status, 0);
      await allGone("nginx", last);
      assert.equal(existsSync(pidFile), false, "nginx removes its pid file as it quits");
      await root.shutdown(server);
    }),
  );
});
