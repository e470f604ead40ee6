// Demo: a small HTTP server on DEMO_PORT (settings/demo.env); tend sees it ready once
// the port accepts connections (its probe connects with bash's /dev/tcp).
import { createServer } from "node:http";

const port = Number(process.env.DEMO_PORT ?? 18080);
const server = createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  res.end(`${process.env.GREETING ?? "hello"}\n`);
});
server.listen(port, "127.0.0.1", () => console.log(`serving on 127.0.0.1:${port}`));
process.on("SIGTERM", () => {
  console.log("SIGTERM: closing");
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
