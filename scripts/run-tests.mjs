// Runs every compiled *.test.js under dist/test with Node's test runner. (Node 20's
// `--test DIR` would also run helper modules as if they were tests.)
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const files = readdirSync("dist/test", { recursive: true })
  .filter((f) => f.endsWith(".test.js"))
  .map((f) => join("dist/test", f))
  .sort();
const result = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...process.argv.slice(2), ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
