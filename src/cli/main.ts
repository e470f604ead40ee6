// The entry of the whole CLI (dist/bin/main.js): every command, each one's code a chunk
// loaded when it runs. The quick CLI hands it what it leaves out (main.ts).

import { runCli } from "./cli.js";

runCli(process.argv.slice(2), null);
