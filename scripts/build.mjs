// Ahead-of-time build: the keeper (C) and the peer-credentials addon with the machine's cc, then type-check and emit
// everything (src, tests, bench) with tsc, then bundle the CLI with esbuild so that
// every `tend` call loads one small entry file and pulls in a command's code only when
// that command runs, and make the quick CLI's code cache; last, the man pages (dist/man) from the command table and docs/.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { buildKeeper, buildPeercred } from "./keeper-build.mjs";

rmSync("dist", { recursive: true, force: true });
try {
  buildKeeper("dist/keeper/tend-keeper");
  buildPeercred("dist/native/peercred.node");
} catch {
  process.exit(1); // cc has printed the errors
}
try {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
} catch {
  process.exit(1); // tsc has printed the errors
}
await build({
  entryPoints: ["src/cli/main.ts"],
  outdir: "dist/bin",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
});
// The quick CLI, what bin/tend runs: one CommonJS file (Node loads it much faster than
// the ESM chunks) without the compiler, the server, the importer and the demo (which runs both). The commands that need them are
// marked `full` in the table and handed to the whole CLI (dist/bin/main.js) before they
// run; should one not be, reaching them throws at once, saying so.
const WHOLE_CLI_ONLY = /(\/compile\/[a-z-]+|\/server\/server|\/import\/[a-z-]+|^\.\/(demo|check|apply|import|daemon))\.js$/;
await build({
  entryPoints: ["src/cli/quick.ts"],
  outfile: "dist/bin/quick.cjs",
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  plugins: [
    lazyBuiltins(["node:net"]),
    {
      name: "whole-cli-only",
      setup(b) {
        b.onResolve({ filter: /^\.\/main\.js$/ }, (a) => (a.importer.endsWith("src/cli/quick.ts") ? { path: "./main.js", external: true } : undefined));
        b.onResolve({ filter: WHOLE_CLI_ONLY }, (a) => ({ path: a.path, namespace: "left-out" }));
        b.onLoad({ filter: /.*/, namespace: "left-out" }, (a) => ({
          // CommonJS (module.exports): its names are read when used, so the bundler asks for none.
          contents: `throw new Error(${JSON.stringify(`the quick CLI reached ${a.path}: mark the command 'full' in src/cli/commands.ts`)});\nmodule.exports = {};`,
          loader: "js",
        }));
      },
    },
  ],
});

// What bin/tend runs: the quick CLI from V8's code cache of it (src/cli/quick-start.ts),
// which one run here makes: a `tend status` with no server, so that the way to one is
// compiled too. Before it, the table of `tend status` from the status file
// (src/cli/quick-table.ts), without node:vm, which only the quick CLI needs.
await build({
  entryPoints: ["src/cli/quick-start.ts"],
  outfile: "dist/bin/tend.cjs",
  bundle: true,
  external: ["./main.js"],
  plugins: [lazyBuiltins(["node:vm"])],
  format: "cjs",
  platform: "node",
  target: "node20",
  logLevel: "warning",
});
const noServer = mkdtempSync(join(tmpdir(), "tend-build-"));
spawnSync(process.execPath, ["dist/bin/tend.cjs", "--root", noServer, "status"], { stdio: "ignore", env: { ...process.env, TEND_BUILD_CODE_CACHE: "1" } });
rmSync(noServer, { recursive: true, force: true });
if (!existsSync("dist/bin/quick.cache")) console.error("build: no code cache for the quick CLI was made: tend works, only starts slower");

const { manPages } = await import("../dist/src/man/pages.js");
const { version } = JSON.parse(readFileSync("package.json", "utf8"));
const pages = manPages({ cli: readFileSync("docs/cli.md", "utf8"), serviceFiles: readFileSync("docs/service-files.md", "utf8"), version });
mkdirSync("dist/man", { recursive: true });
for (const [name, text] of Object.entries(pages)) writeFileSync(`dist/man/${name}`, text);

/**
 * Node's own modules that a CommonJS bundle loads when first used rather than at its
 * start: node:net and the streams under it are 2 ms, which a `tend status` that reads
 * the status file never needs (W3 in docs/benchmarks.md). Each becomes a module of
 * getters, one for each of its exports, the first of which to be read requires it.
 */
function lazyBuiltins(modules) {
  const filter = new RegExp(`^(${modules.join("|")})$`);
  return {
    name: "lazy-builtins",
    setup(b) {
      b.onResolve({ filter }, (a) => (a.namespace === "lazy-builtin" ? { path: a.path, external: true } : { path: a.path, namespace: "lazy-builtin" }));
      b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, async (a) => {
        const names = Object.keys(await import(a.path)).filter((n) => n !== "default");
        const getters = names.map((n) => `Object.defineProperty(exports, ${JSON.stringify(n)}, { enumerable: true, get: () => load()[${JSON.stringify(n)}] });`);
        return { contents: `let loaded;\nconst load = () => (loaded ??= require(${JSON.stringify(a.path)}));\n${getters.join("\n")}\n`, loader: "js" };
      });
    },
  };
}
