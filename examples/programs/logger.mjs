// Demo: collects lines sent to a unix socket and prints them (tend logs them).
import { createServer } from "node:net";
import { rmSync } from "node:fs";

const path = process.argv[2];
rmSync(path, { force: true });
const server = createServer((c) => c.on("data", (d) => process.stdout.write(`received: ${d}`)));
server.listen(path, () => console.log(`listening on ${path}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
