// Demo: a worker that says it is ready by writing a newline to fd 3 (the s6 protocol);
// given a path, it first asks the web server (on DEMO_PORT) for it.
import { writeSync } from "node:fs";

const path = process.argv[2];
if (path) {
  const url = `http://127.0.0.1:${process.env.DEMO_PORT ?? 18080}${path}`;
  const res = await fetch(url);
  console.log(`${url} answered ${res.status}: ${(await res.text()).trim()}`);
}
console.log("ready");
try {
  writeSync(3, "\n"); // only when tend gave us a readiness fd ('ready = fd')
} catch {
  // no fd 3: tend finds out some other way
}
setInterval(() => {}, 60_000);
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
