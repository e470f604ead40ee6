// A forking daemon without a pid file (`forking = yes`): once its launcher has exited 0,
// its main is the one process left in the service's tree (systemd's Type=forking with
// GuessMainPID): the tree as the keeper tracks it (`procs`: its cgroup, or its sessions,
// descendants and marked orphans), of which the processes whose parent is not in it
// are the roots. One root: that is the daemon (its workers hang below it). None: the
// launcher left nothing running. Several (a helper not gone yet): asked again, backing
// off, until one is left or the start timeout says no. The keeper still checks the
// process before it takes it (docs/keeper-protocol.md, `main`).

import { statFields } from "../system/processes.js";
import { poll } from "./readiness/poll.js";
import type { Watch } from "./readiness/watch.js";

/** The processes of `pids` whose parent is not among them, zombies left out; null for a tree with nothing running. */
export function treeRoots(pids: readonly number[]): number[] | null {
  const live = pids.map((pid) => ({ pid, stat: statFields(pid) })).filter((p) => p.stat !== null && p.stat[0] !== "Z");
  if (live.length === 0) return null;
  const inTree = new Set(live.map((p) => p.pid));
  return live.filter((p) => !inTree.has(Number(p.stat![1]))).map((p) => p.pid);
}

/** Watches the tree `list` gives until it has one root (`found`) or nothing running (`empty`); what it waits past is told through `note`, once each. */
export function watchTreeMain(list: () => Promise<readonly number[]>, found: (pid: number) => void, empty: () => void, note: (text: string) => void): Watch {
  let told = "";
  let outcome: () => void = () => {};
  return poll(
    (done) => {
      let abandoned = false;
      void list().then((pids) => {
        if (abandoned) return;
        const roots = treeRoots(pids);
        if (roots === null) outcome = empty;
        else if (roots.length === 1) outcome = () => found(roots[0]!);
        else {
          const text = `its launcher left ${roots.length} processes of their own in its tree (${roots.join(", ")}): waiting for one, its daemon`;
          if (text !== told) note((told = text));
          return done(false);
        }
        done(true);
      });
      return () => void (abandoned = true);
    },
    () => outcome(),
  );
}
