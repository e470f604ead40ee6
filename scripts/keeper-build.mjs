// Builds the keeper (native/keeper/*.c) with the machine's C compiler: C11, every
// warning an error. `buildKeeper(out, { sanitize: true })` gives the AddressSanitizer +
// UndefinedBehaviorSanitizer build the tests run. `buildPeercred` builds the server's
// SO_PEERCRED addon (native/peercred) the same way, against this node's headers: no node-gyp.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";

const SOURCE = "native/keeper";
const FLAGS = ["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes"];
const SANITIZE = ["-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"];

/**
 * The keeper is linked statically where the C library allows it (Debian's libc6-dev has
 * libc.a): as a container's PID 1 it then needs nothing from the image, and keeps under
 * 1 MB of RSS (dynamically linked, the pages of libc.so it maps count too: 1.7 MB).
 * Where it cannot be, it is linked as usual. The sanitized build cannot be static.
 */
export function buildKeeper(out, { sanitize = false } = {}) {
  const sources = readdirSync(SOURCE).filter((f) => f.endsWith(".c")).map((f) => join(SOURCE, f));
  mkdirSync(dirname(out), { recursive: true });
  const cc = process.env.CC || "cc";
  const build = (extra, stdio) => execFileSync(cc, [...FLAGS, ...extra, "-o", out, ...sources], { stdio });
  if (sanitize) return build(SANITIZE, "inherit");
  try {
    build(["-static"], ["ignore", "ignore", "pipe"]);
  } catch {
    build([], "inherit"); // no static C library here: its errors, if any, are the real ones
  }
}

export function buildPeercred(out, { sanitize = false } = {}) {
  const headers = join(dirname(dirname(process.execPath)), "include", "node");
  mkdirSync(dirname(out), { recursive: true });
  const cc = process.env.CC || "cc";
  const flags = [...FLAGS, "-shared", "-fPIC", ...(sanitize ? SANITIZE : [])];
  execFileSync(cc, [...flags, `-I${headers}`, "-DNODE_GYP_MODULE_NAME=peercred", "-o", out, "native/peercred/peercred.c"], { stdio: "inherit" });
}
