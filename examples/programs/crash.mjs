// Demo: a daemon that crashes shortly after it starts.
const ms = Number.parseFloat(process.argv[2] ?? "1") * 1000;
console.log("starting; will crash soon");
setTimeout(() => {
  console.error("crashing with exit code 3");
  process.exit(3);
}, ms);
