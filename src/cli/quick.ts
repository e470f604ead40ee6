// The entry of the quick CLI (dist/bin/tend.cjs, what bin/tend runs): one CommonJS file
// without the compiler and the server (the build leaves them out); a command that needs
// them is handed to the whole CLI (dist/bin/main.js), which runs it from the start.

import { runCli } from "./cli.js";

runCli(process.argv.slice(2), () => import("./main.js"));
