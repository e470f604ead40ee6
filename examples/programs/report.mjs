// Demo: a short task; given a path, it asks the web server (on DEMO_PORT) for it.
const path = process.argv[2];
const url = `http://127.0.0.1:${process.env.DEMO_PORT ?? 18080}${path}`;
if (path) console.log(`${url}: ${(await (await fetch(url)).text()).trim()}`);
console.log(`report at ${new Date().toISOString()}`);
