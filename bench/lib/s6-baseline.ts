// The container workload's baseline: the example set's `default` bundle as an
// s6-overlay user would run it, with Debian's s6 (bookworm has neither s6-rc nor
// s6-overlay). The layout is s6-overlay's (v2, still read by v3): /etc/cont-init.d/
// holds the oneshots, run in order before any service starts; /etc/services.d/ the
// longruns, copied to a scan directory in /run; s6-svscan is PID 1. It is written as an
// image layer of its own (over the container image, bench/lib/container-rootfs.ts),
// using the image's node, python3 and /etc/tend/programs, as tend's services do.
//
// Each tend service and its s6 equivalent:
//   prepare, tune  (oneshots)      cont-init.d scripts, run by the PID 1 script before
//                                  it execs s6-svscan
//   logger   ready = unix:PATH     s6-notifyoncheck, check `test -S PATH`
//   web      ready = tcp:…:18080   s6-notifyoncheck, check a bash /dev/tcp connect
//   worker   ready = fd:3          notification-fd 3; `requires = web`: waits for web
//                                  up and ready (s6-svwait -U) before it execs
//   metrics  ready = exec:PROBE    s6-notifyoncheck, the same probe; `after = web`:
//                                  s6-svwait -U web; limit-nofile, umask as in tend's file
//   notifier ready = notify        sd_notify through a small wrapper (skarnet's C
//                                  sdnotify-wrapper is not packaged; this is its
//                                  Python equivalent), then s6-svwait -U web first
//   flaky    restart-limit 3/30s   s6-permafailon 30 4 in ./finish: down for good at
//                                  the 4th death within 30 s (s6 waits 1 s between runs)
// s6-notifyoncheck polls every 5 ms from 5 ms on (-s 5 -w 5 -n 0: no limit), never less
// often than tend's probes (5 ms, doubling up to 500 ms); it runs ./data/check (Debian's
// s6 looks for execlineb where Debian's execline does not put it, so `-c` fails). A supervisor's s6-svwait fails
// until web's supervisor has written its status (all start together), so those scripts
// retry it every 10 ms.

import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { LAYOUT } from "./container-rootfs.js";

/** PID 1's program in the baseline's image. */
export const S6_INIT = "/etc/s6-baseline/init";
/** The scan directory the PID 1 script makes. */
export const S6_SCAN = "/run/service";
/** The services that come up and ready (flaky never is). */
export const S6_READY = ["logger", "web", "worker", "metrics", "notifier"] as const;

const programs = join(LAYOUT.services, "programs");
const waitWeb = `until s6-svwait -U ${S6_SCAN}/web 2>/dev/null; do sleep 0.01; done`;
const notifyOnCheck = "s6-notifyoncheck -s 5 -w 5 -n 0";

const FILES: Record<string, { text: string; mode?: number }> = {
  [S6_INIT]: {
    text: [
      "#!/bin/sh",
      "# PID 1 of the s6 baseline (bench/lib/s6-baseline.ts): s6-overlay's order, reduced.",
      "set -e",
      "for script in /etc/cont-init.d/*; do \"$script\"; done",
      `cp -a /etc/services.d ${S6_SCAN}`,
      `exec s6-svscan ${S6_SCAN}`,
      "",
    ].join("\n"),
  },
  "/etc/s6-baseline/sdnotify-wrapper": {
    text: [
      "#!/usr/bin/python3",
      "# sdnotify-wrapper PROG...: PROG gets a NOTIFY_SOCKET; its READY=1 becomes the newline s6",
      "# reads on the notification fd (3). A grandchild listens, so PROG has no child to reap.",
      "import os, socket, sys",
      "path = '/run/sdnotify-%d.sock' % os.getpid()",
      "sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
      "sock.bind(path)",
      "child = os.fork()",
      "if child == 0:",
      "    if os.fork() == 0:",
      "        while b'READY=1' not in sock.recv(4096).split(b'\\n'):",
      "            pass",
      "        os.write(3, b'\\n')",
      "        os.unlink(path)",
      "    os._exit(0)",
      "os.waitpid(child, 0)",
      "os.close(3)",
      "sock.close()",
      "os.environ['NOTIFY_SOCKET'] = path",
      "os.execvp(sys.argv[1], sys.argv[1:])",
      "",
    ].join("\n"),
  },
  "/etc/cont-init.d/10-prepare": { text: "#!/bin/sh\nexec mkdir -p /tmp/tend-demo/data\n" },
  "/etc/cont-init.d/20-tune": { text: "#!/bin/sh\necho tuned > /tmp/tend-demo/data/tuned\n" },
  "/etc/services.d/logger/run": { text: `#!/bin/sh\nexec ${notifyOnCheck} node ${programs}/logger.mjs /tmp/tend-demo/logger.sock\n` },
  "/etc/services.d/logger/data/check": { text: "#!/bin/sh\nexec test -S /tmp/tend-demo/logger.sock\n" },
  "/etc/services.d/logger/notification-fd": { text: "3\n", mode: 0o644 },
  "/etc/services.d/web/run": { text: `#!/bin/sh\nexport GREETING="hello from tend"\nexec ${notifyOnCheck} node ${programs}/http-server.mjs 18080\n` },
  "/etc/services.d/web/data/check": { text: "#!/bin/bash\nexec 2>/dev/null 3<>/dev/tcp/127.0.0.1/18080\n" },
  "/etc/services.d/web/notification-fd": { text: "3\n", mode: 0o644 },
  "/etc/services.d/worker/run": { text: `#!/bin/sh\n${waitWeb}\nexec node ${programs}/worker.mjs http://127.0.0.1:18080/\n` },
  "/etc/services.d/worker/notification-fd": { text: "3\n", mode: 0o644 },
  "/etc/services.d/metrics/run": {
    text: `#!/bin/sh\n${waitWeb}\numask 027\nexec s6-softlimit -o 1024 ${notifyOnCheck} node ${programs}/worker.mjs\n`,
  },
  "/etc/services.d/metrics/data/check": { text: "#!/bin/sh\nexec test -S /tmp/tend-demo/logger.sock\n" },
  "/etc/services.d/metrics/notification-fd": { text: "3\n", mode: 0o644 },
  "/etc/services.d/notifier/run": { text: `#!/bin/sh\n${waitWeb}\nexec /etc/s6-baseline/sdnotify-wrapper python3 ${programs}/notify.py\n` },
  "/etc/services.d/notifier/notification-fd": { text: "3\n", mode: 0o644 },
  "/etc/services.d/flaky/run": { text: `#!/bin/sh\nexec node ${programs}/crash.mjs 0.3\n` },
  "/etc/services.d/flaky/finish": { text: "#!/bin/sh\nexec s6-permafailon 30 4 1-255 true\n" },
  "/etc/services.d/flaky/notification-fd": { text: "3\n", mode: 0o644 },
};

/** Writes the baseline's layer into `dir` (an empty directory: the layer's root). */
export function writeS6Layer(dir: string): void {
  for (const [path, { text, mode = 0o755 }] of Object.entries(FILES)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    chmodSync(file, mode);
  }
}
