// Demo: collects lines sent to a unix socket, DEMO_DIR/logger.sock, and prints them
// (tend logs them).
import { createServer } from "node:net";
import { rmSync } from "node:fs";
import { join } from "node:path";

const path = join(process.env.DEMO_DIR ?? "/tmp/tend-demo", "logger.sock");
rmSync(path, { force: true });
const server = createServer((c) => c.on("data", (d) => process.stdout.write(`received: ${d}`)));
server.listen(path, () => console.log(`listening on ${path}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
