// The container image as a directory, for trying tend as a container's PID 1 where no
// container engine runs (bench/lib/container-rootfs.ts says what goes into it):
//
//   npm run build && node dist/bench/container-rootfs.js DIR      (as root; DIR must not exist)
//
// then, as `docker run` would run the image (a PID namespace, a mount namespace, /proc
// of its own, the image's PATH and nothing else of your environment):
//
//   env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
//     unshare --pid --fork --kill-child --mount --mount-proc=DIR/proc chroot DIR tend boot
//
// and from another terminal `chroot DIR tend status` (the sockets are in DIR/run/tend),
// `kill -TERM PID` (the pid `unshare` forked) to stop it as `docker stop` does. The
// container writes into DIR itself (/run, /tmp, /var); remove DIR when done. The bench's
// container workload runs each container on a writable layer of its own instead.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { containerRootfs, CONTAINER_ENV } from "./lib/container-rootfs.js";

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function main(argv: string[]): number {
  if (argv.length !== 1 || argv[0]!.startsWith("-")) {
    process.stderr.write("usage: node dist/bench/container-rootfs.js DIR   (as root; DIR must not exist)\n");
    return 2;
  }
  const into = resolve(argv[0]!);
  if (existsSync(into)) {
    process.stderr.write(`container-rootfs: ${into} exists: name a directory to create\n`);
    return 2;
  }
  // dist/bench/container-rootfs.js: the repository is two levels up.
  const repo = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
  const sizes = containerRootfs(repo, into, (message) => process.stderr.write(`${message}\n`));
  const env = Object.entries(CONTAINER_ENV).map(([k, v]) => `${k}=${v}`).join(" ");
  process.stdout.write(
    [
      `${into}: ${mib(sizes.rootfs)} (node ${mib(sizes.node)}, tend in /opt/tend ${mib(sizes.tend)}; the base without tend ${mib(sizes.base)})`,
      "run it as a container:",
      `  env -i ${env} unshare --pid --fork --kill-child --mount --mount-proc=${join(into, "proc")} chroot ${into} tend boot`,
      "",
    ].join("\n"),
  );
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`container-rootfs: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
