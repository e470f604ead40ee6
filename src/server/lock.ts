// One server per root: a pid file created exclusively. A pid file whose process is
// gone is stale and taken over; one whose process lives means another server runs.

import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "../system/processes.js";

export type LockResult = { ok: true; release(): void } | { ok: false; pid: number };

export function lockRoot(runDir: string): LockResult {
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const path = join(runDir, "tend.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return { ok: true, release: () => rmSync(path, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) return { ok: false, pid };
      rmSync(path, { force: true });
    }
  }
  return { ok: false, pid: 0 };
}
