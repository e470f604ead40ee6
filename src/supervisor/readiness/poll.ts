// Readiness by polling: a connection attempt (what `tcp:` and `unix:` fall back on
// where the listener's owner cannot be known, readiness/listener.ts) and `exec:`
// probes, ready once the probe exits 0. Polls back off from 5 ms to 500 ms, so a slow
// service costs little and a fast one is seen quickly.

import { spawn, type SpawnOptions } from "node:child_process";
import { connect, type NetConnectOpts } from "node:net";
import type { Watch } from "./watch.js";

const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 500;

/** One try: it calls `done` once (ready or not) and returns how to abandon it. */
export type Attempt = (done: (ready: boolean) => void) => () => void;

/** Runs `attempt` until it reports success, waiting longer between tries each time (a forking daemon's pid file is watched so too). */
export function poll(attempt: Attempt, onReady: () => void): Watch {
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  let abort = (): void => {};
  let delay = FIRST_DELAY_MS;
  const again = (): void => {
    abort = attempt((ready) => {
      if (cancelled) return;
      if (ready) {
        cancelled = true;
        return onReady();
      }
      timer = setTimeout(again, delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
  };
  timer = setTimeout(again, FIRST_DELAY_MS);
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
      abort();
    },
  };
}

/** Ready once a connection to `target` is accepted. */
export const connectAttempt =
  (target: NetConnectOpts): Attempt =>
  (done) => {
    const socket = connect(target);
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => {
      socket.destroy();
      done(false);
    });
    return () => socket.destroy();
  };

/** A probe that has not answered within this long counts as "not ready yet" and is killed. */
const PROBE_TIMEOUT_MS = 5_000;

export function watchProbe(file: string, args: string[], options: SpawnOptions, onReady: () => void): Watch {
  return poll((done) => {
    const probe = spawn(file, args, { ...options, stdio: "ignore" });
    const kill = (): void => void (probe.exitCode === null && probe.signalCode === null && probe.kill("SIGKILL"));
    const timer = setTimeout(kill, PROBE_TIMEOUT_MS);
    probe.once("error", () => done(false));
    probe.once("exit", (code) => {
      clearTimeout(timer);
      done(code === 0);
    });
    return () => {
      clearTimeout(timer);
      kill();
    };
  }, onReady);
}
