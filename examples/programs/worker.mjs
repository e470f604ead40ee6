// Demo: a worker that says it is ready by writing a newline to fd 3 (the s6 protocol).
import { writeSync } from "node:fs";

const url = process.argv[2];
if (url) {
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
