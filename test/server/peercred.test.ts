// The peercred addon (native/peercred) built with AddressSanitizer and
// UndefinedBehaviorSanitizer, driven in a node that has their runtimes preloaded (Node
// itself is not built with them): real sockets, bad fds and wrong arguments, and no
// sanitizer report.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { withTemp } from "../helpers.js";

const ADDON = process.env.TEND_PEERCRED_SANITIZED;

/** The path of a sanitizer runtime, or null when this compiler has none. */
function runtime(name: string): string | null {
  try {
    const path = execFileSync(process.env.CC || "cc", [`-print-file-name=${name}`], { encoding: "utf8" }).trim();
    return path.startsWith("/") ? path : null;
  } catch {
    return null;
  }
}

const PRELOAD = [runtime("libasan.so"), runtime("libubsan.so")];
const skip =
  ADDON === undefined ? "TEND_PEERCRED_SANITIZED is not set: npm test builds the sanitized addon" : PRELOAD.includes(null) ? "this cc has no libasan/libubsan runtime to preload" : false;

// Runs in the sanitized node: every way the server calls the addon, and every way it could be miscalled.
const SCRIPT = `
import { createRequire } from "node:module";
import { createServer, connect } from "node:net";
import { openSync } from "node:fs";
const { peerCredentials } = createRequire(import.meta.url)(process.env.ADDON);
const throws = (f, pattern) => { try { f(); } catch (e) { if (!pattern.test(e.message)) throw e; return; } throw new Error("did not throw: " + f); };
const path = process.env.SOCKET;
const server = createServer((socket) => {
  for (let i = 0; i < 1000; i++) {
    const peer = peerCredentials(socket._handle.fd);
    if (peer.pid !== process.pid || peer.uid !== process.getuid() || peer.gid !== process.getgid() || !Array.isArray(peer.groups)) throw new Error(JSON.stringify(peer));
  }
  throws(() => peerCredentials(-1), /takes a file descriptor/);
  throws(() => peerCredentials("3"), /takes a file descriptor/);
  throws(() => peerCredentials(), /takes a file descriptor/);
  throws(() => peerCredentials(99999), /SO_PEERCRED: Bad file descriptor/);
  throws(() => peerCredentials(openSync(process.execPath, "r")), /SO_PEERCRED: Socket operation on non-socket/);
  console.log("ok");
  process.exit(0);
}).listen(path, () => connect(path));
`;

test("the peercred addon under AddressSanitizer and UBSan: real peers, bad fds, wrong arguments, no report", { skip }, () =>
  withTemp((dir) => {
    const logs = join(dir, "reports");
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", SCRIPT], {
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...process.env,
        ADDON: ADDON!,
        SOCKET: join(dir, "s.sock"),
        LD_PRELOAD: PRELOAD.join(" "),
        // Node's own allocations are not ours to judge: leaks off, everything else on.
        ASAN_OPTIONS: `detect_leaks=0:log_path=${logs}`,
        UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=1:log_path=${logs}`,
      },
    });
    const reports = readdirSync(dir).filter((f) => f.startsWith("reports"));
    assert.deepEqual(reports.map((f) => readFileSync(join(dir, f), "utf8")), [], "sanitizer reports");
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim(), "ok");
  }),
);
