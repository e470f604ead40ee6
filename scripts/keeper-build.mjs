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

export function buildKeeper(out, { sanitize = false } = {}) {
  const sources = readdirSync(SOURCE).filter((f) => f.endsWith(".c")).map((f) => join(SOURCE, f));
  mkdirSync(dirname(out), { recursive: true });
  const cc = process.env.CC || "cc";
  execFileSync(cc, [...FLAGS, ...(sanitize ? SANITIZE : []), "-o", out, ...sources], { stdio: "inherit" });
}

export function buildPeercred(out, { sanitize = false } = {}) {
  const headers = join(dirname(dirname(process.execPath)), "include", "node");
  mkdirSync(dirname(out), { recursive: true });
  const cc = process.env.CC || "cc";
  const flags = [...FLAGS, "-shared", "-fPIC", ...(sanitize ? SANITIZE : [])];
  execFileSync(cc, [...flags, `-I${headers}`, "-DNODE_GYP_MODULE_NAME=peercred", "-o", out, "native/peercred/peercred.c"], { stdio: "inherit" });
}
